// The Liveness shell's wiring, two speakers over an in-memory segment with a clock we move:
// signing, verifying, hearing, the leaving beacon, a speaker with another key. The real sockets
// and timing are the lab's job (test/lab/liveness.test.ts); here nothing waits on a timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beaconKey } from '../../../src/l2/beacon-auth.ts';
import type { BeaconArrival } from '../../../src/l2/beacon-link.ts';
import { Registry } from '../../../src/observe/metrics.ts';
import { type BeaconPorts, type KeyProvider, LIVENESS_METRICS, Liveness } from '../../../src/speaker/liveness.ts';

class Segment {
  /** Speakers (by the last byte of their MAC) whose link is down: they neither send nor hear. */
  readonly down = new Set<number>();
  readonly members: Array<{ mac: Uint8Array; deliver: (a: BeaconArrival) => void }> = [];
  ports(mac: Uint8Array): (onBeacon: (a: BeaconArrival) => void) => BeaconPorts {
    return (onBeacon) => {
      this.members.push({ mac, deliver: onBeacon });
      const stats = { sent: 0, bytesSent: 0 };
      return {
        stats,
        setNics: () => undefined,
        sendAll: (frameFor) => {
          if (this.down.has(mac[5]!)) return new Map([['eth0', false]]);
          const f = frameFor('eth0', mac);
          if (!f) return new Map();
          stats.sent++;
          stats.bytesSent += f.length;
          for (const m of this.members) {
            if (m.mac === mac || this.down.has(m.mac[5]!)) continue;
            m.deliver({ nic: 'eth0', srcMac: f.subarray(6, 12), payload: f.subarray(14) });
          }
          return new Map([['eth0', true]]);
        },
        close: () => undefined,
      };
    };
  }
}

const keyOf = (s: string): KeyProvider => {
  const k = beaconKey(new TextEncoder().encode(s.padEnd(32, '.')));
  return { keys: () => ({ signing: k, accepted: [k] }), onChange: () => () => undefined };
};

function speaker(seg: Segment, node: string, mac: number, clock: { now: number }, key = keyOf('cluster key'), registry = new Registry()) {
  return new Liveness({
    nodeName: node,
    intervalMs: 100,
    deadlineMs: 500,
    fallbackAfterMs: 40_000,
    keys: key,
    registry,
    ports: seg.ports(new Uint8Array([2, 0, 0, 0, 0, mac])),
    now: () => clock.now,
    wallNow: () => 1_800_000_000_000 + clock.now,
  });
}

const inputs = (roster: string[]) => ({ roster: new Set(roster), poolNics: new Map([['pool', 'eth0']]) });

/** Speakers a (MAC ..:01) and b (..:02) on one segment, closed when the test ends. */
function pair(t: { after(fn: () => void): void }, bKey?: KeyProvider, registry = new Registry()) {
  const seg = new Segment();
  const clock = { now: 0 };
  const a = speaker(seg, 'a', 1, clock, keyOf('cluster key'), registry);
  const b = speaker(seg, 'b', 2, clock, bKey);
  t.after(() => {
    a.close();
    b.close();
  });
  return { seg, clock, a, b };
}

test('two speakers hear each other; a leaving beacon makes the peer dead at once', (t) => {
  const { clock, a, b } = pair(t);
  a.setInputs(inputs(['a', 'b']));
  clock.now = 200;
  b.setInputs(inputs(['a', 'b'])); // b's first inputs send its first beacon, which reaches a
  clock.now = 600; // a is past its warm-up (a deadline of listening), b heard 400 ms ago
  a.setInputs(inputs(['a', 'b'])); // re-judges
  assert.deepEqual([...a.aliveFor('pool')!].sort(), ['a', 'b']);
  assert.deepEqual(a.leaseOnlyNics(), []);
  assert.equal(a.nodeOfMac('eth0', '02:00:00:00:00:02'), 'b');
  b.leave();
  a.setInputs(inputs(['a', 'b']));
  assert.deepEqual([...a.aliveFor('pool')!], ['a'], 'b said it is leaving');
});

test('a silent peer is dead one deadline after its last beacon', (t) => {
  const { clock, a, b } = pair(t);
  a.setInputs(inputs(['a', 'b']));
  clock.now = 100;
  b.setInputs(inputs(['a', 'b']));
  clock.now = 599;
  a.setInputs(inputs(['a', 'b']));
  assert.deepEqual([...a.aliveFor('pool')!].sort(), ['a', 'b']);
  clock.now = 600;
  a.setInputs(inputs(['a', 'b']));
  assert.deepEqual([...a.aliveFor('pool')!], ['a']);
});

test('a speaker with another key is not heard (counted as unknown-key), and the NIC stays Lease-only', (t) => {
  const reg = new Registry();
  const { clock, a, b: x } = pair(t, keyOf('some other key'), reg);
  a.setInputs(inputs(['a', 'x']));
  x.setInputs(inputs(['a', 'x']));
  clock.now = 600;
  a.setInputs(inputs(['a', 'x']));
  assert.equal(reg.counter(LIVENESS_METRICS.received, '').get({ result: 'unknown-key' }), 1);
  assert.deepEqual(a.leaseOnlyNics(), ['eth0']);
  assert.deepEqual([...a.aliveFor('pool')!].sort(), ['a', 'x'], 'Lease-only: the roster decides');
});

test('our own link down: silence is no evidence; after it returns we listen a deadline before judging by beacons', (t) => {
  const { seg, clock, a, b } = pair(t);
  a.setInputs(inputs(['a', 'b']));
  clock.now = 550;
  b.setInputs(inputs(['a', 'b']));
  a.setInputs(inputs(['a', 'b']));
  assert.deepEqual(a.nicModes().get('eth0'), 'beacons');
  seg.down.add(1); // a's link goes down
  (a as unknown as { sendNow(): void }).sendNow(); // the beacon timer's send notices it
  clock.now = 5000;
  a.setInputs(inputs(['a', 'b']));
  assert.equal(a.nicModes().get('eth0'), 'warming-up');
  assert.deepEqual([...a.aliveFor('pool')!].sort(), ['a', 'b'], 'b is not declared dead because we cannot hear');
  seg.down.delete(1);
  // link back: the first successful send restarts the warm-up; b is heard within it
  (a as unknown as { sendNow(): void }).sendNow();
  clock.now = 5100;
  b.setInputs(inputs(['a', 'b', 'c'])); // a fresh beacon from b (inputs changed: not its first, so re-send by hand)
  (b as unknown as { sendNow(): void }).sendNow();
  clock.now = 5499;
  a.setInputs(inputs(['a', 'b']));
  assert.equal(a.nicModes().get('eth0'), 'warming-up');
  clock.now = 5500;
  a.setInputs(inputs(['a', 'b']));
  assert.equal(a.nicModes().get('eth0'), 'beacons');
  assert.deepEqual([...a.aliveFor('pool')!].sort(), ['a', 'b']);
});
