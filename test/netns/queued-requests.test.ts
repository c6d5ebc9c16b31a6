// Requests queued on the answering sockets must not be lost when the node swaps them or announces
// again, the two things that happen when a node's NIC comes back: src/l2/responder.ts's reopen(),
// and the Layer 2 controller re-announcing the IPs its stand-in still claims
// (src/speaker/announce-owned.ts). One namespace holds a veth pair: the answering side on eth0, a
// plain packet socket asks on eth1 (test/netns/fixtures/queued-requests.ts).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { denoArgv, Lab, listNamespaces, tsxArgv } from '../../scripts/kit/netns.ts';

const FIXTURE = 'test/netns/fixtures/queued-requests.ts';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const COUNT = 20;
const labNames: string[] = [];

async function queuedAnswered(t: TestContext, argvFor: (script: string, ...args: string[]) => string[], mode: 'reopen' | 'reassert'): Promise<void> {
  const lab = await Lab.create(t);
  const ns = await lab.namespace('host');
  await lab.veth(ns, 'eth0', ns, 'eth1', { addrB: ['10.99.0.2/24', 'fd00:99::2/64'] });
  labNames.push(...lab.names);
  const r = await ns.exec(argvFor(FIXTURE, mode, 'eth0', 'eth1', VIP4, VIP6, String(COUNT)), { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `fixture failed (${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}):\n${r.stdout}${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sent: number; arpReplies: number; naReplies: number };
  assert.equal(out.sent, COUNT);
  assert.equal(out.arpReplies, COUNT, `ARP requests queued at the ${mode} answered: ${out.arpReplies} of ${COUNT}`);
  assert.equal(out.naReplies, COUNT, `Neighbor Solicitations queued at the ${mode} answered: ${out.naReplies} of ${COUNT}`);
}

// reopen() opens the new sockets first (make before break) but closed the old ones without reading
// what already waited there. After a link flap it runs up to a NIC check interval after the link
// is back, when the owner announces again and clients ask.
for (const [runtime, argvFor] of [
  ['Node', tsxArgv],
  ['Deno', denoArgv],
] as const) {
  test(`${runtime}: requests waiting on the old sockets when reopen() swaps them are all answered (ARP and NDP)`, async (t) => {
    await queuedAnswered(t, argvFor, 'reopen');
  });
}

// A node whose NIC comes back finds its stand-in still announcing all of its IPs; it keeps them and
// announces them again. That was a remove and re-add, which closed the NIC's sockets (every IP on
// it was being re-added): in the lab, unicast requests 55 and 115 ms after the node's first answer
// went unanswered.
test('Node: requests waiting when every IP of a NIC is re-announced against a claim are all answered (ARP and NDP)', async (t) => {
  await queuedAnswered(t, tsxArgv, 'reassert');
});

test('no namespace is left behind', async () => {
  const left = await listNamespaces();
  assert.ok(labNames.length > 0);
  assert.deepEqual(labNames.filter((n) => left.includes(n)), []);
});
