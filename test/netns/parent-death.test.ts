// `announce` never outlives what launched it: started the way a user or supervisor starts it
// (`npx openelb-ts announce ...`: npm -> sh -> node, or `npx tsx src/cli/main.ts`), a SIGTERM to
// the launcher's pid alone leaves no process behind and nothing answering ARP for the address.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { Lab, type Netns } from '../../scripts/kit/netns.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pids whose command line mentions `needle` (a test-unique address). */
function processesMentioning(needle: string): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) out.push({ pid: Number(d), cmd });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

async function pair(t: TestContext): Promise<{ client: Netns; server: Netns }> {
  const lab = await Lab.create(t);
  const client = await lab.namespace('client');
  const server = await lab.namespace('server');
  await lab.veth(client, 'eth0', server, 'eth0', { addrA: ['10.98.0.2/24'], addrB: ['10.98.0.1/24'] });
  return { client, server };
}

const LAUNCHERS: Array<[string, (vip: string) => string[]]> = [
  ['npx openelb-ts (npm -> sh -> node)', (vip) => ['npx', '--offline', 'openelb-ts', 'announce', '--interface', 'eth0', '--address', vip, '--no-probe']],
  ['npx tsx src/cli/main.ts (tsx launcher -> node)', (vip) => ['npx', '--offline', 'tsx', 'src/cli/main.ts', 'announce', '--interface', 'eth0', '--address', vip, '--no-probe']],
];

let n = 0;
for (const [how, argv] of LAUNCHERS) {
  test(`${how}: SIGTERM to the launcher pid leaves no process and no ARP answer`, async (t) => {
    const { client, server } = await pair(t);
    const vip = `10.98.0.${100 + ++n}`;
    const child = server.spawn(argv(vip));
    // Answering: the whole chain is up.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await client.exec(['arping', '-c', '1', '-w', '1', '-I', 'eth0', vip]);
      if (r.code === 0) break;
      if (child.result || Date.now() > deadline) assert.fail(`never answered for ${vip}\n${child.stderr}`);
    }
    const chain = processesMentioning(vip);
    assert.ok(chain.length >= 2, `expected a launcher and a node process, got ${JSON.stringify(chain)}`);

    // Whatever happens, nothing of this test outlives it (a failing run must not leak responders).
    t.after(() => {
      for (const p of processesMentioning(vip)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    child.kill('SIGTERM'); // the launcher's pid only, as a supervisor does
    // Not `await child.exited` alone: an orphan holding the output pipe would keep it open.
    await Promise.race([child.exited, sleep(5_000)]);
    const gone = Date.now() + 5_000;
    let left = processesMentioning(vip);
    while (left.length > 0 && Date.now() < gone) {
      await sleep(100);
      left = processesMentioning(vip);
    }
    assert.deepEqual(left, [], `still running after the launcher got SIGTERM: ${JSON.stringify(left)}`);
    await client.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    const r = await client.exec(['arping', '-c', '2', '-w', '2', '-I', 'eth0', vip]);
    assert.notEqual(r.code, 0, `someone still answers ARP for ${vip}: ${r.stdout}`);
  });
}
