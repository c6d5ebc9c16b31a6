// Beacon codec and authentication: golden bytes written by hand from the layout in src/l2/beacon.ts,
// symmetry, every rejection reason, HMAC properties, and a seeded fuzz (BEACON_FUZZ_SEED overrides
// the fixed default seed, BEACON_FUZZ_N the count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Beacon,
  BEACON_REJECT_REASONS,
  BEACON_MAX_PAYLOAD,
  beaconFrame,
  beaconGroupMac,
  fitPools,
  isBeaconName,
} from '../../../src/l2/beacon.ts';
import { beaconKey, beaconKeyId, signBeacon, verifyBeacon } from '../../../src/l2/beacon-auth.ts';
import * as beacon from '../../../src/l2/beacon.ts';
import * as ethernet from '../../../src/l2/ethernet.ts';
import { isMulticastMac, parseMac } from '../../../src/l2/mac.ts';
import { toHex } from './fixtures.ts';
import { mulberry32 } from '../seeded-random.ts';

const MAC = parseMac('02:00:00:00:00:0a')!;
const KEY = beaconKey(new TextEncoder().encode('0123456789abcdef0123456789abcdef'));
const OTHER_KEY = beaconKey(new TextEncoder().encode('another cluster, another key....'));

function sample(over: Partial<Beacon> = {}): Beacon {
  return {
    leaving: false,
    poolsUnlisted: false,
    intervalMs: 100,
    incarnation: { startedAtMs: 0x0123_4567_89ab, nonce: 0xdeadbeef },
    seq: 7,
    sentAtMs: 0x0123_4567_8abc,
    keyId: 0x01020304,
    node: 'node1',
    pools: ['eip-a', 'e2'],
    tag: new Uint8Array(32).fill(0xaa),
    ...over,
  };
}

test('golden: beacon payload layout', () => {
  const bytes = beacon.encode(sample());
  const want =
    '4f454c42' + '01' + '00' + '0064' + // magic OELB, version 1, flags, interval 100 ms
    '00000123456789ab' + 'deadbeef' + // incarnation start, nonce
    '00000007' + // seq
    '0000012345678abc' + // sent at
    '01020304' + // key id
    '05' + '6e6f646531' + // "node1"
    '0002' + '05' + '6569702d61' + '02' + '6532' + // 2 pools: "eip-a", "e2"
    'aa'.repeat(32);
  assert.equal(toHex(bytes), want);
  assert.equal(bytes.length, beacon.encodingLength(sample()));
  const flags = beacon.encode(sample({ leaving: true, poolsUnlisted: true, pools: [] }));
  assert.equal(flags[5], 3);
});

test('golden: frame goes to the locally administered multicast group 03:6f:65:6c:62:00 with ethertype 0x88B5', () => {
  const f = beaconFrame(MAC, beacon.encode(sample()));
  assert.equal(toHex(f.subarray(0, 14)), '036f656c6200' + '02000000000a' + '88b5');
  const g = beaconGroupMac();
  assert.ok(isMulticastMac(g));
  assert.equal(g[0]! & 2, 2, 'locally administered bit');
  const eth = ethernet.decode(f);
  assert.ok(eth.ok);
  const at = beacon.decode(f, 14); // the trio's offset form
  assert.ok(at.ok && at.value.node === 'node1');
  assert.ok(f.length > 60, 'never needs Ethernet padding');
});

test('symmetric: decode(encode(b)) gives b back, including the flags and large times', () => {
  for (const b of [
    sample(),
    sample({ leaving: true }),
    sample({ poolsUnlisted: true, pools: [] }),
    sample({ pools: [] }),
    sample({ incarnation: { startedAtMs: Number.MAX_SAFE_INTEGER, nonce: 0xffffffff }, seq: 0xffffffff, intervalMs: 0xffff }),
    sample({ node: 'a'.repeat(253), pools: ['b'.repeat(253)] }),
  ]) {
    const d = beacon.decode(beacon.encode(b));
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.deepEqual({ ...d.value, tag: [...d.value.tag] }, { ...b, tag: [...b.tag] });
  }
  // encode into a caller's buffer at an offset
  const buf = new Uint8Array(400);
  const out = beacon.encode(sample(), buf, 10);
  assert.equal(toHex(out), toHex(beacon.encode(sample())));
});

test('encode refuses what it could not carry, with a message naming the field', () => {
  assert.throws(() => beacon.encode(sample({ node: 'Node_1' })), /node name "Node_1"/);
  assert.throws(() => beacon.encode(sample({ pools: [''] })), /pool name/);
  assert.throws(() => beacon.encode(sample({ seq: 2 ** 32 })), /sequence number/);
  assert.throws(() => beacon.encode(sample({ intervalMs: 70_000 })), /interval/);
  assert.throws(() => beacon.encode(sample({ poolsUnlisted: true })), /pools-unlisted/);
  assert.throws(() => beacon.encode(sample({ tag: new Uint8Array(5) })), /tag/);
  assert.throws(() => beacon.encode(sample(), new Uint8Array(10)), /buffer too small/);
  assert.equal(isBeaconName('ip-pool.example'), true);
  assert.equal(isBeaconName('UPPER'), false);
});

test('every rejection reason is reachable', () => {
  const good = beacon.encode(sample());
  const mut = (f: (b: Uint8Array) => Uint8Array | void) => {
    const b = good.slice();
    return beacon.decode(f(b) ?? b);
  };
  const seen = new Set<string>();
  const rej = (d: ReturnType<typeof beacon.decode>, reason: string) => {
    assert.equal(d.ok, false, reason);
    if (!d.ok) assert.equal(d.reason, reason);
    seen.add(reason);
  };
  rej(mut((b) => b.subarray(0, 3)), 'truncated');
  rej(mut((b) => b.subarray(0, 20)), 'truncated');
  rej(mut((b) => b.subarray(0, b.length - 1)), 'truncated');
  rej(mut((b) => void (b[0] = 0x50)), 'not-beacon');
  rej(mut((b) => void (b[4] = 2)), 'bad-version');
  rej(mut((b) => void (b[5] = 4)), 'bad-flags');
  rej(mut((b) => void (b[5] = 2)), 'bad-flags'); // pools-unlisted with pools listed
  rej(mut((b) => void (b[8] = 0xff)), 'bad-time');
  rej(mut((b) => void (b[24] = 0x01)), 'bad-time');
  rej(mut((b) => void (b[36] = 0)), 'bad-name');
  rej(mut((b) => void (b[37] = 0x41)), 'bad-name'); // 'A'
  rej(mut((b) => void (b[37 + 5 + 2] = 0)), 'bad-name'); // empty pool name
  rej(mut((b) => { const g = new Uint8Array(b.length + 1); g.set(b); return g; }), 'trailing-bytes');
  assert.deepEqual([...seen].sort(), [...BEACON_REJECT_REASONS].sort());
});

test('fitPools: names that do not fit one 1500-byte payload are left unlisted and the beacon says so', () => {
  assert.deepEqual(fitPools('n', ['b', 'a', 'a']), { pools: ['a', 'b'], poolsUnlisted: false });
  const many = Array.from({ length: 100 }, (_, i) => `pool-${i}-${'x'.repeat(20)}`);
  const r = fitPools('n', many);
  assert.deepEqual(r, { pools: [], poolsUnlisted: true });
  assert.ok(beacon.encodingLength({ node: 'n', pools: many }) > BEACON_MAX_PAYLOAD);
});

test('HMAC: signed beacons verify with the key; another key, another MAC or any altered byte does not', () => {
  const base = { ...sample(), tag: undefined, keyId: undefined } as unknown as Omit<Beacon, 'tag' | 'keyId'>;
  const p = signBeacon(base, KEY, MAC);
  const v = verifyBeacon(p, MAC, [KEY]);
  assert.ok(v.ok);
  assert.equal(v.value.keyId, beaconKeyId(KEY.bytes));
  assert.equal(v.value.node, 'node1');
  // Golden tag: HMAC-SHA-256(key, MAC || payload before the tag)
  assert.equal(toHex(p.subarray(p.length - 32)), EXPECTED_TAG, 'tag of the fixed sample');
  // rotation: a receiver holding current and next keys accepts either
  assert.ok(verifyBeacon(p, MAC, [OTHER_KEY, KEY]).ok);
  const r1 = verifyBeacon(p, MAC, [OTHER_KEY]);
  assert.equal(r1.ok ? 'ok' : r1.reason, 'unknown-key');
  const r2 = verifyBeacon(p, parseMac('02:00:00:00:00:0b')!, [KEY]);
  assert.equal(r2.ok ? 'ok' : r2.reason, 'bad-tag', 'a capture re-sent from another MAC');
  for (let i = 0; i < p.length; i++) {
    if (i >= 32 && i < 36) continue; // the key id: altering it gives unknown-key, checked above
    const q = p.slice();
    q[i] = q[i]! ^ 0x01;
    const r = verifyBeacon(q, MAC, [KEY]);
    assert.equal(r.ok, false, `byte ${i} altered`);
  }
});

// The fixed sample signed with KEY from MAC, computed independently with openssl:
//   (printf 02000000000a; printf <payload before the tag, hex>) | xxd -r -p |
//     openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
const EXPECTED_TAG = '618afac22a31a6a5eb42f28375939a2a4b7421c52d96bb0374996f3c94253f20';

test('fuzz: mutated and random payloads never throw, reject only with documented reasons, and never verify', (t) => {
  const seed = process.env.BEACON_FUZZ_SEED ? Number(process.env.BEACON_FUZZ_SEED) : 0x0e1b;
  const n = process.env.BEACON_FUZZ_N ? Number(process.env.BEACON_FUZZ_N) : 50_000;
  t.diagnostic(`beacon fuzz seed ${seed} (reproduce with BEACON_FUZZ_SEED=${seed})`);
  const rnd = mulberry32(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const reasons = new Set<string>([...BEACON_REJECT_REASONS, 'unknown-key', 'bad-tag']);
  const seeds = [
    signBeacon({ ...sample(), pools: ['a', 'bb'] }, KEY, MAC),
    signBeacon({ ...sample(), leaving: true, pools: [] }, KEY, MAC),
    signBeacon({ ...sample(), poolsUnlisted: true, pools: [] }, KEY, MAC),
  ];
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    let f: Uint8Array;
    if (rnd() < 0.1) {
      f = new Uint8Array(pick(200));
      for (let j = 0; j < f.length; j++) f[j] = pick(256);
      if (f.length >= 4 && rnd() < 0.7) f.set([0x4f, 0x45, 0x4c, 0x42]);
    } else {
      f = seeds[pick(seeds.length)]!.slice();
      for (let o = 1 + pick(3); o > 0; o--) {
        const op = rnd();
        if (op < 0.5 && f.length) { const j = pick(f.length); f[j] = f[j]! ^ (1 << pick(8)); }
        else if (op < 0.7 && f.length) f[pick(f.length)] = [0, 1, 2, 0xff, 0x2d, 0x41][pick(6)]!;
        else if (op < 0.85) f = f.slice(0, pick(f.length + 1));
        else {
          const g = new Uint8Array(f.length + 1 + pick(8));
          g.set(f);
          f = g;
        }
      }
    }
    try {
      const d = beacon.decode(f);
      if (d.ok) {
        // whatever decodes re-encodes to the same bytes
        assert.equal(toHex(beacon.encode(d.value)), toHex(f));
      }
      const v = verifyBeacon(f, MAC, [KEY]);
      const k = v.ok ? 'verified' : v.reason;
      outcomes[k] = (outcomes[k] ?? 0) + 1;
      if (!v.ok) assert.ok(reasons.has(v.reason), v.reason);
      else assert.ok(seeds.some((s) => toHex(s) === toHex(f)), 'only an unaltered signed beacon verifies');
    } catch (err) {
      assert.fail(`seed ${seed}, input #${i} ${toHex(f)}: ${(err as Error).stack ?? err}`);
    }
  }
  t.diagnostic(`outcomes ${JSON.stringify(outcomes)}`);
  for (const r of ['bad-tag', 'truncated', 'not-beacon', 'bad-name', 'trailing-bytes']) assert.ok((outcomes[r] ?? 0) > 0, `fuzz never reached ${r}`);
});

