import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeClaim, outranks, reannounceAfterRecheck, yieldsInForce, type Yield } from '../../../src/speaker/wire-conflict.ts';
import { type IpClaim, electAnnouncer, mayAnnounce } from '../../../src/speaker/election.ts';

const nodes = new Map(['a', 'b', 'c'].map((n) => [n, { name: n, excluded: false, networkUnavailable: false }]));

test('both sides of a disagreement reach opposite verdicts: exactly one keeps each IP, and it is the election\'s choice', () => {
  for (let i = 0; i < 200; i++) {
    const ip = `192.0.2.${i}`;
    const ab = judgeClaim(ip, 'a', 'b', true);
    const ba = judgeClaim(ip, 'b', 'a', true);
    assert.notEqual(ab.action, ba.action, ip);
    assert.ok(['keep', 'yield'].includes(ab.action) && ['keep', 'yield'].includes(ba.action));
    const keeper = ab.action === 'keep' ? 'a' : 'b';
    const e = electAnnouncer({ ip, eip: 'p', services: [{ key: 'ns/s', externalTrafficPolicy: 'Cluster' }] }, [
      { node: 'a', cannotServe: new Set() },
      { node: 'b', cannotServe: new Set() },
    ], nodes);
    assert.equal(e.node, keeper, `${ip}: the keeper is the node the election ranks higher`);
    assert.equal(outranks(keeper, keeper === 'a' ? 'b' : 'a', ip), true);
  }
});

test('a claim from a MAC that maps to no speaker (or to ourselves) is foreign', () => {
  assert.deepEqual(judgeClaim('192.0.2.1', 'a', undefined, false), { action: 'foreign' });
  assert.deepEqual(judgeClaim('192.0.2.1', 'a', 'a', true), { action: 'foreign' });
});

test('a yield ends when the winner leaves the roster or our own view sees it alive for the pool; not before', () => {
  const yields = new Map<string, Yield>([
    ['192.0.2.1', { to: 'b', pool: 'p1' }],
    ['192.0.2.2', { to: 'c', pool: 'p1' }],
    ['192.0.2.3', { to: 'b', pool: 'p2' }],
  ]);
  const alive = new Map([
    ['p1', new Set(['a'])],
    ['p2', new Set(['a', 'b'])],
  ]);
  const r = yieldsInForce(yields, new Set(['a', 'b']), (p) => alive.get(p));
  assert.deepEqual([...r.keys()], ['192.0.2.1'], 'c left the roster; b is alive to us for p2');
});

// The defect (election.test.ts, Local, endpoint moved a -> b): b takes the IP from its fresh view;
// a, whose EndpointSlice view is still old, saw b's gratuitous ARP and, ranking higher, kept the
// IP and announced it again, pulling clients back to a node with no endpoint that withdrew a
// moment later (and, the re-announce round having just run, a moment later than it would have).
test('a claimant that may not serve the IP by our API view (Local, no ready endpoint there) is neither fought nor yielded to', () => {
  const none = new Set<string>();
  const localOn = (ip: string, ready: string[]): IpClaim[] => [{ ip, eip: 'p', services: [{ key: 'ns/local', externalTrafficPolicy: 'Local', readyNodes: new Set(ready) }] }];
  let checked = 0;
  // The IPs a outranks b for first: those are the ones a used to keep (and announce again).
  const ips = Array.from({ length: 64 }, (_, i) => `192.0.2.${i}`).sort((x, y) => Number(outranks('b', 'a', x)) - Number(outranks('b', 'a', y)));
  for (const ip of ips) {
    // a's stale view: the only endpoint is still on a, so b may not serve the IP.
    const staleOnA = localOn(ip, ['a']);
    assert.equal(mayAnnounce(staleOnA, 'b', none, nodes), false);
    assert.equal(mayAnnounce(staleOnA, 'a', none, nodes), true);
    const verdict = judgeClaim(ip, 'a', 'b', mayAnnounce(staleOnA, 'b', none, nodes));
    assert.deepEqual(verdict, { action: 'recheck' }, `${ip}: a (${outranks('a', 'b', ip) ? 'ranks higher' : 'ranks lower'}) must not keep or yield on a view b does not share`);
    // Once a's view has the move, b is a candidate and the rank rule applies again (if it ever matters).
    const fresh = localOn(ip, ['a', 'b']);
    assert.equal(mayAnnounce(fresh, 'b', none, nodes), true);
    assert.equal(judgeClaim(ip, 'a', 'b', true).action, outranks('a', 'b', ip) ? 'keep' : 'yield');
    checked++;
  }
  assert.equal(checked, 64);
});

test('mayAnnounce follows the election\'s API rules and leaves liveness out', () => {
  const ip = '192.0.2.7';
  const cluster: IpClaim[] = [{ ip, eip: 'p', services: [{ key: 'ns/s', externalTrafficPolicy: 'Cluster' }] }];
  assert.equal(mayAnnounce(cluster, 'b', new Set(), nodes), true, 'a Cluster IP: any eligible node, whether or not we hear it');
  assert.equal(mayAnnounce(cluster, 'b', new Set(['p']), nodes), false, 'b declared it has no NIC for the pool');
  assert.equal(mayAnnounce(cluster, 'x', new Set(), nodes), false, 'no Node object');
  const excluded = new Map([...nodes, ['b', { name: 'b', excluded: true, networkUnavailable: false }]]);
  assert.equal(mayAnnounce(cluster, 'b', new Set(), excluded), false, 'excluded by label');
  assert.equal(mayAnnounce([], 'b', new Set(), nodes), false, 'no claim: nothing to announce');
});

test('after a recheck: re-announce only an IP still ours, and a disagreement that lasts ends after one re-announce each', () => {
  assert.equal(reannounceAfterRecheck(false, undefined, 1000, 10_000), false, 'withdrawn meanwhile: our view caught up');
  assert.equal(reannounceAfterRecheck(true, undefined, 1000, 10_000), true, 'still ours: bring back the clients the claimant pulled away');
  // Views frozen apart (API away): each re-announce is the other speaker's next claim, judged
  // 'recheck' again. Play it out over a minute: a bounded exchange, not a flip every second.
  const last = new Map<string, number>();
  const reannounces: string[] = [];
  let pending: Array<{ at: number; node: string }> = [{ at: 1000, node: 'a' }]; // a's recheck of b's first claim
  while (pending.length && pending[0]!.at < 60_000) {
    const { at, node } = pending.shift()!;
    if (!reannounceAfterRecheck(true, last.get(node), at, 10_000)) continue;
    last.set(node, at);
    reannounces.push(`${node}@${at}`);
    pending = [...pending, { at: at + 1000, node: node === 'a' ? 'b' : 'a' }].sort((x, y) => x.at - y.at);
  }
  assert.deepEqual(reannounces, ['a@1000', 'b@2000']);
});
