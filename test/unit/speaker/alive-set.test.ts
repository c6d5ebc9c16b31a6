// The alive-set core on scripted timelines: no sockets, no timers, the clock is a number we move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type BeaconView,
  type HeardBeacon,
  type HearVerdict,
  type LivenessTimings,
  emptyBeaconView,
  hearBeacon,
  judgeAlive,
  nodeOfMac,
  prune,
  tick,
} from '../../../src/speaker/alive-set.ts';

const T: LivenessTimings = { deadlineMs: 500, fallbackAfterMs: 40_000, maxClockSkewMs: 120_000, forgetIncarnationAfterMs: 5000 };
const WALL0 = 1_800_000_000_000;
const SELF = 'a';

/** A small simulator: one observer (node a) with NIC eth0 serving pool p1 (and p2 on eth1). */
class Timeline {
  view: BeaconView = emptyBeaconView();
  now = 0;
  wallOffset = 0; // our wall clock minus the true time
  seq = new Map<string, number>();
  inc = new Map<string, { startedAtMs: number; nonce: number }>();
  roster = new Set(['a', 'b', 'c']);
  poolNics = new Map([
    ['p1', 'eth0'],
    ['p2', 'eth1'],
  ]);

  start(node: string, nonce = 1): void {
    this.inc.set(node, { startedAtMs: WALL0 + this.now, nonce });
    this.seq.set(node, 0);
  }

  beacon(node: string, over: Partial<HeardBeacon> = {}): HeardBeacon {
    const seq = (this.seq.get(node) ?? 0) + 1;
    this.seq.set(node, seq);
    return {
      node,
      incarnation: this.inc.get(node)!,
      seq,
      sentAtMs: WALL0 + this.now,
      leaving: false,
      pools: ['p1', 'p2'],
      mac: `02:00:00:00:00:0${node.charCodeAt(0) - 96}`,
      nic: 'eth0',
      ...over,
    };
  }

  hear(b: HeardBeacon): HearVerdict {
    const r = hearBeacon(this.view, b, { self: SELF, now: this.now, wallNow: WALL0 + this.now + this.wallOffset, timings: T });
    this.view = r.view;
    return r.verdict;
  }

  /** Every node in `nodes` beacons every `every` ms on eth0 (and eth1 when `both`) from now to now+ms. */
  run(ms: number, nodes: string[], every = 100, both = false): void {
    const end = this.now + ms;
    while (this.now + every <= end) {
      this.advance(every);
      for (const n of nodes) {
        assert.equal(this.hear(this.beacon(n)), 'accepted');
        if (both) assert.equal(this.hear(this.beacon(n, { nic: 'eth1' })), 'accepted');
      }
    }
    this.advance(end - this.now);
  }

  advance(ms: number): void {
    this.now += ms;
    this.view = tick(this.view, this.now, T).view;
  }

  alive(pool = 'p1'): string[] {
    return [...(this.judge().alive.get(pool) ?? [])].sort();
  }

  judge() {
    return judgeAlive(this.view, { self: SELF, roster: this.roster, poolNics: this.poolNics, now: this.now, timings: T });
  }
}

function lab(): Timeline {
  const t = new Timeline();
  for (const n of ['a', 'b', 'c']) t.start(n);
  return t;
}

test('steady beacons: every roster member is alive; a crashed peer is dead one deadline after its last beacon', () => {
  const t = lab();
  t.run(1000, ['b', 'c']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
  assert.equal(t.judge().nicMode.get('eth0'), 'beacons');
  // c crashes right after its last beacon at t=1000
  t.run(400, ['b']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c'], 'still within the deadline');
  const j = t.judge();
  assert.equal(j.nextChangeAt, 1500, 'the judgement says when c expires');
  t.run(100, ['b']);
  assert.deepEqual(t.alive(), ['a', 'b'], 'c dead exactly one deadline after its last beacon');
});

test('late and bursty beacons: a peer alive but late by less than the deadline never flaps', () => {
  const t = lab();
  t.run(500, ['b', 'c']);
  // c's beacons stall for 450 ms (a GC pause on c), then four arrive in a burst
  t.run(450, ['b']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
  for (let i = 0; i < 4; i++) assert.equal(t.hear(t.beacon('c')), 'accepted');
  t.run(450, ['b']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
});

test('no peer heard on a NIC: its pools fall back to Lease-only liveness, and say so', () => {
  const t = lab();
  t.run(1000, ['b', 'c']); // only on eth0
  const j = t.judge();
  assert.equal(j.nicMode.get('eth0'), 'beacons');
  assert.equal(j.nicMode.get('eth1'), 'lease-only');
  assert.deepEqual([...j.alive.get('p2')!].sort(), ['a', 'b', 'c'], 'p2: the roster decides');
  // A single-node cluster: nothing ever heard anywhere
  const solo = new Timeline();
  solo.roster = new Set(['a']);
  solo.advance(10_000);
  assert.deepEqual(solo.alive(), ['a']);
  assert.equal(solo.judge().nicMode.get('eth0'), 'lease-only');
});

test('the last peer crashing does not flip the NIC back to Lease-only before its Lease could expire', () => {
  const t = lab();
  t.roster = new Set(['a', 'b']);
  t.run(1000, ['b']);
  t.run(1000, []); // b crashed
  assert.deepEqual(t.alive(), ['a'], 'b dead by beacons although its Lease is still live');
  assert.equal(t.judge().nicMode.get('eth0'), 'beacons');
  t.run(T.fallbackAfterMs, []);
  assert.equal(t.judge().nicMode.get('eth0'), 'lease-only', 'after the fallback window the roster decides again');
});

test('asymmetric loss: we judge by what we hear; a peer we never hear is dead to us on that segment only', () => {
  const t = lab();
  // b is heard on both NICs, c only on eth1 (its eth0 frames are dropped on the way to us)
  for (let i = 0; i < 10; i++) {
    t.advance(100);
    t.hear(t.beacon('b'));
    t.hear(t.beacon('b', { nic: 'eth1' }));
    t.hear(t.beacon('c', { nic: 'eth1' }));
  }
  assert.deepEqual(t.alive('p1'), ['a', 'b']);
  assert.deepEqual(t.alive('p2'), ['a', 'b', 'c']);
});

test('a peer that does not list a pool is not alive for it; an unlisted pool set defers to the Lease', () => {
  const t = lab();
  t.run(200, []);
  t.hear(t.beacon('b', { pools: ['p2'] }));
  t.hear(t.beacon('c', { pools: undefined }));
  assert.deepEqual(t.alive('p1'), ['a', 'c']);
});

test('reboot with a new incarnation: accepted as a restart, sequence numbers start over, old incarnation never comes back', () => {
  const t = lab();
  t.run(500, ['b', 'c']);
  const old = t.beacon('c'); // captured by an attacker, not delivered yet
  t.advance(50);
  t.start('c', 7); // c restarts: new start time, sequence from 1
  assert.equal(t.hear(t.beacon('c')), 'restarted');
  t.run(300, ['b', 'c']);
  assert.equal(t.hear(old), 'replay', 'the retired incarnation is rejected although its seq is higher than the new one\'s');
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
});

test('an incarnation that claims an earlier start is refused while the current one speaks, accepted once it is silent', () => {
  const t = lab();
  t.run(500, ['b', 'c']);
  const current = t.inc.get('c')!;
  t.inc.set('c', { startedAtMs: current.startedAtMs - 60_000, nonce: 9 }); // c's clock stepped back before its restart
  t.seq.set('c', 0);
  assert.equal(t.hear(t.beacon('c')), 'stale-incarnation');
  t.run(T.forgetIncarnationAfterMs, ['b']);
  assert.equal(t.hear(t.beacon('c')), 'restarted');
});

test('replays: a repeated or older sequence number is refused and keeps nobody alive', () => {
  const t = lab();
  t.run(300, ['b', 'c']);
  const captured = t.beacon('c');
  assert.equal(t.hear(captured), 'accepted');
  assert.equal(t.hear(captured), 'replay');
  // c crashes; an attacker keeps replaying its last beacon
  for (let i = 0; i < 10; i++) {
    t.run(100, ['b']);
    assert.equal(t.hear(captured), 'replay');
  }
  assert.deepEqual(t.alive(), ['a', 'b']);
});

test('a fresh observer refuses an old capture by its wall-clock stamp', () => {
  const t = lab();
  const old = t.beacon('c');
  t.advance(T.maxClockSkewMs + 1);
  assert.equal(t.hear(old), 'clock-skew');
  assert.equal(t.hear(t.beacon('c')), 'accepted');
});

test('our wall clock jumps: beacons of known incarnations keep flowing; liveness uses the monotonic clock only', () => {
  const t = lab();
  t.run(500, ['b', 'c']);
  t.wallOffset = 3_600_000; // NTP steps our clock an hour forward
  t.run(500, ['b', 'c']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
});

test('our monotonic clock jumps (process suspended): the gap is forgiven, not read as everyone dying', () => {
  const t = lab();
  t.run(500, ['b', 'c']);
  t.advance(5000); // suspended for 5 s
  assert.deepEqual(t.alive(), ['a', 'b', 'c'], 'nobody could be heard while we were not running');
  t.run(300, ['b']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
  t.run(200, ['b']);
  assert.deepEqual(t.alive(), ['a', 'b'], 'c, silent after we resumed, dies one deadline later');
});

test('a node heard but absent from the roster is not alive, and is reported', () => {
  const t = lab();
  t.start('x');
  t.run(300, ['b', 'c', 'x']);
  const j = t.judge();
  assert.deepEqual([...j.alive.get('p1')!].sort(), ['a', 'b', 'c']);
  assert.deepEqual(j.heardNotInRoster, ['x']);
});

test('a roster member heard on no segment at all is dead wherever beacons judge', () => {
  const t = lab();
  t.roster = new Set(['a', 'b', 'c', 'd']);
  t.run(500, ['b', 'c']);
  assert.deepEqual(t.alive(), ['a', 'b', 'c']);
});

test('a released roster entry is dead even while it beacons; a leaving beacon is dead at once', () => {
  const t = lab();
  t.run(500, ['b', 'c']);
  t.roster = new Set(['a', 'b']);
  assert.deepEqual(t.alive(), ['a', 'b']);
  t.roster = new Set(['a', 'b', 'c']);
  assert.equal(t.hear(t.beacon('b', { leaving: true })), 'accepted');
  assert.deepEqual(t.alive(), ['a', 'c']);
});

test('warming up: until we have listened for a deadline, the roster decides (a peer not heard yet is not dropped)', () => {
  const t = lab();
  t.advance(100);
  t.hear(t.beacon('b')); // b heard first, c not yet
  const j = (since: number) =>
    judgeAlive(t.view, { self: SELF, roster: t.roster, poolNics: t.poolNics, listeningSince: new Map([['eth0', since], ['eth1', since]]), now: t.now, timings: T });
  assert.equal(j(50).nicMode.get('eth0'), 'warming-up');
  assert.deepEqual([...j(50).alive.get('p1')!].sort(), ['a', 'b', 'c']);
  assert.equal(j(50).nextChangeAt, 550);
  t.advance(450);
  t.hear(t.beacon('b'));
  assert.equal(j(50).nicMode.get('eth0'), 'beacons');
  assert.deepEqual([...j(50).alive.get('p1')!].sort(), ['a', 'b'], 'c still unheard after a whole deadline of listening');
});

test('our own beacons (two of our NICs on one segment) are ignored', () => {
  const t = lab();
  assert.equal(t.hear(t.beacon('a')), 'self');
  assert.equal(t.judge().nicMode.get('eth0'), 'lease-only');
});

test('nodeOfMac maps a claim back to the speaker whose verified beacon used that MAC; prune forgets the long silent', () => {
  const t = lab();
  t.run(300, ['b', 'c']);
  assert.equal(nodeOfMac(t.view, 'eth0', '02:00:00:00:00:03'), 'c');
  assert.equal(nodeOfMac(t.view, 'eth1', '02:00:00:00:00:03'), undefined);
  assert.equal(nodeOfMac(t.view, 'eth0', '02:00:00:00:00:09'), undefined);
  t.run(1000, ['b']);
  const p = prune(t.view, t.now, 900);
  assert.deepEqual([...p.peers.keys()], ['b']);
});
