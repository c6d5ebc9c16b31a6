// The membership's liveness judgement on scripted timelines: what the watch delivered, when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LeaseSeen, type LivenessView, emptyLiveness, judgeLiveness } from '../../../src/kube/membership-liveness.ts';

const T = { leaseDurationMs: 1500, retryPeriodMs: 500 };
const OWN = 'openelb-speaker-me';

/** The Leases as the watch shows them: holder and resourceVersion per node. */
const leases = (rv: Record<string, [holder: string, rv: number]>): LeaseSeen[] =>
  Object.entries(rv).map(([node, [holder, v]]) => ({
    name: `openelb-speaker-${node}`,
    record: { holder, resourceVersion: String(v) },
  }));

/** Runs a timeline of [time, watch state] steps; returns the judgement after each. */
function run(steps: Array<[number, Record<string, [string, number]>]>, view: LivenessView = emptyLiveness) {
  const out = [];
  for (const [t, l] of steps) {
    const j = judgeLiveness(view, leases(l), OWN, t, T);
    view = j.view;
    out.push(j);
  }
  return out;
}

test('nobody expires before our own renewal has come back through the watch', () => {
  const [j] = run([[10_000, { peer: ['peer', 1] }]]);
  assert.deepEqual([...j!.alive], ['peer']);
  const [, j2] = run([
    [0, { peer: ['peer', 1] }],
    [60_000, { peer: ['peer', 1] }], // an hour of no own renewal: no evidence, no death
  ]);
  assert.deepEqual([...j2!.alive], ['peer']);
});

test('a peer that stops renewing while our renewals flow is dead exactly one duration after its last change', () => {
  const steps: Array<[number, Record<string, [string, number]>]> = [];
  // peer renews at 0 (rv 2) and never again; we renew every 500 ms
  for (let t = 0, rv = 10; t <= 2000; t += 500, rv++) steps.push([t, { me: ['me', rv], peer: ['peer', 2] }]);
  const js = run(steps);
  assert.deepEqual([...js[2]!.alive].sort(), ['me', 'peer']); // t=1000
  assert.deepEqual([...js[3]!.alive].sort(), ['me']); // t=1500 = 0 + duration
  // While the peer was alive, the judgement asked to be re-run when its Lease expires.
  assert.equal(js[0]!.recheckInMs, 1501);
});

test('fail-static: when no renewal arrives (API or watch down) nobody dies, and rechecks are calm', () => {
  const js = run([
    [0, { me: ['me', 10], peer: ['peer', 2] }],
    [400, { me: ['me', 11], peer: ['peer', 3] }],
    // the stream stops delivering: same objects re-judged by timers only
    [5_000, { me: ['me', 11], peer: ['peer', 3] }],
    [30_000, { me: ['me', 11], peer: ['peer', 3] }],
  ]);
  assert.deepEqual([...js[3]!.alive].sort(), ['me', 'peer']);
  assert.ok((js[3]!.recheckInMs ?? 0) >= T.retryPeriodMs, 'no tight loop while frozen');
});

test('after a blind gap the first renewal back (a peer\'s) gives every member a fresh duration', () => {
  const js = run([
    [0, { me: ['me', 10], a: ['a', 2], b: ['b', 3] }],
    [400, { me: ['me', 11], a: ['a', 4], b: ['b', 5] }],
    // 10 s blind; then only a's renewal arrives first
    [10_400, { me: ['me', 11], a: ['a', 6], b: ['b', 5] }],
  ]);
  assert.equal(js[2]!.resumedAfterGapMs, 10_000);
  assert.deepEqual([...js[2]!.alive].sort(), ['a', 'b', 'me']);
  // b and we get a whole duration from the end of the gap to show a renewal
  const later = judgeLiveness(js[2]!.view, leases({ me: ['me', 12], a: ['a', 7], b: ['b', 5] }), OWN, 11_899, T);
  assert.deepEqual([...later.alive].sort(), ['a', 'b', 'me']);
  const after = judgeLiveness(later.view, leases({ me: ['me', 13], a: ['a', 8], b: ['b', 5] }), OWN, 11_900, T);
  assert.deepEqual([...after.alive].sort(), ['a', 'me']);
});

test('a released Lease (empty holder) is dead at once; a deleted Lease is forgotten', () => {
  const js = run([
    [0, { me: ['me', 10], peer: ['peer', 2] }],
    [100, { me: ['me', 11], peer: ['', 3] }],
    [200, { me: ['me', 12] }],
  ]);
  assert.deepEqual([...js[1]!.alive], ['me']);
  assert.deepEqual([...js[2]!.view.observations.keys()], [OWN]);
});

test('the judgement is pure: the previous view is not changed', () => {
  const [j] = run([[0, { me: ['me', 10], peer: ['peer', 2] }]]);
  const before = JSON.stringify([...j!.view.observations]);
  judgeLiveness(j!.view, leases({ me: ['me', 11] }), OWN, 20_000, T);
  assert.equal(JSON.stringify([...j!.view.observations]), before);
});
