// DAD defence against the real kernel: a burst of DAD probes (NS from ::) for a VIP that
// `openelb-ts announce` owns yields a bounded number of defending NAs (one per address per
// second, src/l2/defense-limit.ts), the first at once, while ordinary solicitations (ndisc6)
// are still answered every time. Topology: client eth0 (fd00:99::2/64) <-veth-> server eth0
// (fd00:99::1/64); the VIP is on no NIC, so only our responder answers for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lab, listNamespaces, tsxArgv, type Child } from '../../scripts/kit/netns.ts';

const MAIN = 'src/cli/main.ts';
const BURST = 'test/netns/fixtures/dad-burst.ts';
const VIP6 = 'fd00:99::77';
const labNames: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface BurstResult {
  sent: number;
  nas: number;
  firstNaMs: number | null;
  from: string[];
}

async function announcing(c: Child, ip: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (Date.now() < end && !c.result) {
    if (c.stderr.split('\n').some((l) => l.includes('"address state"') && l.includes(`"${ip}"`) && l.includes('"announcing"'))) return;
    await sleep(25);
  }
  assert.fail(`announce of ${ip} did not reach announcing:\n${c.stderr}`);
}

test('a burst of 300 DAD probes gets one defending NA (the first at once); ndisc6 is still answered', async (t) => {
  const lab = await Lab.create(t);
  const client = await lab.namespace('client');
  const server = await lab.namespace('server');
  await lab.veth(client, 'eth0', server, 'eth0', { addrA: ['fd00:99::2/64'], addrB: ['fd00:99::1/64'] });
  labNames.push(...lab.names);
  const serverMac = (await server.link('eth0')).mac;
  // One takeover NA and no refresh: every NA for the VIP after start-up is an answer to the client.
  const announce = server.spawn(
    tsxArgv(MAIN, 'announce', '--interface', 'eth0', '--address', VIP6, '--probe-ms', '100', '--burst-count', '1', '--refresh-ms', '0'),
  );
  await announcing(announce, VIP6);
  await sleep(300); // let the takeover NA pass before listening

  const burst = JSON.parse(await client.run(tsxArgv(BURST, 'eth0', VIP6, '300', '1500'))) as BurstResult;
  assert.equal(burst.sent, 300, JSON.stringify(burst));
  assert.deepEqual(burst.from, [serverMac], `only our responder answers: ${JSON.stringify(burst)}`);
  // The burst lasts well under a second (one interval): one defence; two if it straddled one.
  assert.ok(burst.nas >= 1 && burst.nas <= 2, `defending NAs for 300 probes: ${burst.nas} (want 1, at most 2)`);
  assert.ok(burst.firstNaMs !== null && burst.firstNaMs < 500, `the first probe is answered at once: ${burst.firstNaMs} ms`);

  // Ordinary solicitations are not limited: three ndisc6 runs back to back, each answered.
  for (let i = 0; i < 3; i++) {
    const n = await client.exec(['ndisc6', '-n', '-m', '-r', '2', '-w', '1000', VIP6, 'eth0']);
    assert.equal(n.code, 0, `ndisc6 #${i}: ${n.stdout}${n.stderr}\n${announce.stderr}`);
    assert.match(n.stdout.toLowerCase(), new RegExp(`target link-layer address: ${serverMac}`));
  }

  // A second over, the next prober is defended at once again.
  await sleep(1100);
  const later = JSON.parse(await client.run(tsxArgv(BURST, 'eth0', VIP6, '1', '800'))) as BurstResult;
  assert.equal(later.nas, 1, `a probe after the interval: ${JSON.stringify(later)}`);
  assert.ok(later.firstNaMs !== null && later.firstNaMs < 500, `answered at once: ${later.firstNaMs} ms`);

  announce.kill('SIGTERM');
  await announce.exited;
});

test('every namespace of this file is gone', async () => {
  const left = await listNamespaces();
  assert.deepEqual(left.filter((n) => labNames.includes(n)), []);
});
