// src/l2/responder.ts against the real kernel: its socket swap (reopen(), run for a NIC that came
// back from down) must not lose requests. One namespace holds a veth pair: the Responder answers
// on eth0, a plain packet socket asks on eth1 (test/netns/fixtures/responder-reopen.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denoArgv, Lab, listNamespaces, tsxArgv } from '../../scripts/kit/netns.ts';

const FIXTURE = 'test/netns/fixtures/responder-reopen.ts';
const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const COUNT = 20;
const labNames: string[] = [];

// A request the kernel queued on the old socket before the swap used to be dropped with it: the
// swap opens the new socket first (make before break) but closed the old one without reading what
// was already waiting there. After a link flap the swap runs up to a NIC check interval after the
// link is back, when the owner is announcing again and clients ask, so that request went
// unanswered (`arping -c 3` got 2 replies in the lab's NIC down/up scenario).
for (const [runtime, argvFor] of [
  ['Node', tsxArgv],
  ['Deno', denoArgv],
] as const) {
  test(`${runtime}: requests waiting on the old sockets when reopen() swaps them are all answered (ARP and NDP)`, async (t) => {
    const lab = await Lab.create(t);
    const ns = await lab.namespace('host');
    await lab.veth(ns, 'eth0', ns, 'eth1', { addrB: ['10.99.0.2/24', 'fd00:99::2/64'] });
    labNames.push(...lab.names);
    const r = await ns.exec(argvFor(FIXTURE, 'eth0', 'eth1', VIP4, VIP6, String(COUNT)), { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `fixture failed (${r.code ?? r.signal}${r.timedOut ? ", timed out" : ""}):\n${r.stdout}${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sent: number; arpReplies: number; naReplies: number };
    assert.equal(out.sent, COUNT);
    assert.equal(out.arpReplies, COUNT, `ARP requests waiting at the swap answered: ${out.arpReplies} of ${COUNT}`);
    assert.equal(out.naReplies, COUNT, `Neighbor Solicitations waiting at the swap answered: ${out.naReplies} of ${COUNT}`);
  });
}

test('no namespace is left behind', async () => {
  const left = await listNamespaces();
  assert.ok(labNames.length > 0);
  assert.deepEqual(labNames.filter((n) => left.includes(n)), []);
});
