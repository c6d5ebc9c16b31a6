// Seeded round-trip fuzz of the BGP codec. Random valid messages: decode(encode(m)) deep-equals m
// and encodingLength(m) is the encoded size. Random mutations of valid messages (and of BIRD's
// golden bytes): decodeMessage either returns a message that encodes again and decodes to itself,
// or throws BgpError; nothing else is thrown and every call returns (the loops are bounded by the
// input, so a hang would be a test timeout). frameLength over mutated streams likewise.
// OPENELB_FUZZ_SEED / OPENELB_FUZZ_N try other seeds and counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPv4, formatIPv6 } from '../../../src/net/ip.ts';
import {
  type AsSegment,
  BgpError,
  type BgpMessage,
  type Capability,
  type CodecOptions,
  type PathAttributes,
  type Prefix,
  decodeMessage,
  encodeMessage,
  encodingLength,
  frameLength,
} from '../../../src/bgp/codec/index.ts';
import { mulberry32 } from '../seeded-random.ts';
import { BIRD, OURS } from './fixtures.ts';

const SEED = Number(process.env.OPENELB_FUZZ_SEED ?? 20_261_129);
const N = Number(process.env.OPENELB_FUZZ_N ?? 1200);

class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
  u32(): number {
    return this.int(0, 0xffffffff);
  }

  prefix(family: 4 | 6): Prefix {
    const max = family === 4 ? 32 : 128;
    const length = this.bool(0.5) ? max : this.int(0, max);
    const b = this.bytes(family === 4 ? 4 : 16);
    for (let bit = length; bit < max; bit++) b[bit >> 3]! &= ~(0x80 >> (bit & 7));
    return { address: family === 4 ? formatIPv4(b) : formatIPv6(b), length };
  }
  prefixes(family: 4 | 6, max: number): Prefix[] {
    return Array.from({ length: this.int(0, max) }, () => this.prefix(family));
  }
  unicast4(): string {
    const b = this.bytes(4);
    b[0] = this.int(1, 223);
    return formatIPv4(b);
  }
  ipv6(): string {
    return formatIPv6(this.bytes(16));
  }
  segments(width: 2 | 4, max = 3): AsSegment[] {
    return Array.from({ length: this.int(0, max) }, () => ({
      type: this.pick([1, 2, 3, 4] as const),
      asns: Array.from({ length: this.int(1, 6) }, () => (width === 4 ? this.u32() : this.int(0, 0xffff))),
    }));
  }

  capability(): Capability {
    switch (this.int(0, 4)) {
      case 0:
        return { kind: 'multiprotocol', afi: this.int(0, 0xffff), safi: this.int(0, 255) };
      case 1:
        return { kind: 'route-refresh' };
      case 2:
        return { kind: 'four-octet-as', as: this.int(1, 0xffffffff) };
      case 3: {
        const c: Capability = {
          kind: 'graceful-restart',
          restarting: this.bool(),
          restartTime: this.int(0, 4095),
          families: Array.from({ length: this.int(0, 3) }, () => ({ afi: this.int(1, 2), safi: 1, forwardingPreserved: this.bool() })),
        };
        if (this.bool()) c.notification = true;
        return c;
      }
      default:
        return { kind: 'unknown', code: this.pick([3, 5, 6, 9, 64 + 6, 71, 73, 128, 255]), data: this.bytes(this.int(0, 40)) };
    }
  }

  attributes(opts: CodecOptions, nlri: boolean): PathAttributes {
    const width = opts.fourOctetAs ? 4 : 2;
    const a: PathAttributes = {};
    const v6 = this.bool(0.4);
    // Announcing needs ORIGIN and AS_PATH (and NEXT_HOP for body NLRI), else decode adds treatAsWithdraw.
    if (nlri || v6 || this.bool()) a.origin = this.pick([0, 1, 2] as const);
    if (nlri || v6 || this.bool()) a.asPath = this.segments(width);
    if (nlri || this.bool(0.3)) a.nextHop = this.unicast4();
    if (this.bool(0.3)) a.med = this.u32();
    if (this.bool(0.3)) a.localPref = this.u32();
    if (this.bool(0.2)) a.atomicAggregate = true;
    if (this.bool(0.2)) a.aggregator = { as: width === 4 ? this.u32() : this.int(0, 0xffff), address: formatIPv4(this.bytes(4)) };
    if (this.bool(0.3)) a.communities = Array.from({ length: this.int(1, 5) }, () => this.u32());
    if (this.bool(0.2)) a.as4Path = this.segments(4);
    if (v6) {
      const hops = this.bool() ? [this.ipv6()] : [this.ipv6(), this.ipv6()];
      a.mpReach = { afi: 2, safi: this.pick([1, 2]), nextHops: hops, nlri: [this.prefix(6), ...this.prefixes(6, 40)] };
    }
    if (this.bool(0.3)) a.mpUnreach = { afi: this.int(1, 2), safi: 1, withdrawn: [] };
    if (a.mpUnreach) a.mpUnreach.withdrawn = this.prefixes(a.mpUnreach.afi === 1 ? 4 : 6, 20);
    if (this.bool(0.3)) {
      const codes = [9, 10, 16, 18, 32, 40, 128, 200, 255].filter(() => this.bool(0.4));
      if (codes.length > 0) a.unknown = codes.map((code) => {
        const data = this.bytes(this.bool(0.1) ? this.int(256, 400) : this.int(0, 30));
        let flags = 0x80 | (this.bool() ? 0x40 : 0) | (this.bool(0.3) ? 0x20 : 0) | (this.bool(0.2) ? 0x10 : 0);
        if (data.length > 255) flags |= 0x10; // what the encoder must set, and the decoder reports
        return { flags, code, data };
      });
    }
    return a;
  }

  message(opts: CodecOptions): BgpMessage {
    switch (this.int(0, 4)) {
      case 0: {
        const capabilities = Array.from({ length: this.bool(0.05) ? this.int(60, 90) : this.int(0, 8) }, () => this.capability());
        const holdTime = this.bool(0.1) ? 0 : this.int(3, 0xffff);
        return { type: 'open', version: 4, myAs: this.int(1, 0xffff), holdTime, bgpId: formatIPv4(this.bytes(3).length ? Uint8Array.of(this.int(1, 255), ...this.bytes(3)) : this.bytes(4)), capabilities };
      }
      case 1: {
        const nlri = this.prefixes(4, 60);
        return { type: 'update', withdrawn: this.prefixes(4, 40), attributes: this.attributes(opts, nlri.length > 0), nlri };
      }
      case 2:
        return { type: 'notification', code: this.int(0, 255), subcode: this.int(0, 255), data: this.bytes(this.int(0, 60)) };
      case 3:
        return { type: 'keepalive' };
      default: {
        const m: BgpMessage = { type: 'route-refresh', afi: this.int(0, 0xffff), safi: this.int(0, 255) };
        if (this.bool(0.3)) m.subtype = this.int(1, 255);
        return m;
      }
    }
  }

  mutate(src: Uint8Array): Uint8Array {
    let b = src.slice();
    for (let k = this.int(1, 4); k > 0; k--) {
      const at = this.int(0, Math.max(0, b.length - 1));
      switch (this.int(0, 5)) {
        case 0:
          b[at] = this.int(0, 255);
          break;
        case 1:
          b[at]! ^= 1 << this.int(0, 7);
          break;
        case 2:
          b = b.slice(0, this.int(0, b.length));
          break;
        case 3: {
          const extra = this.bytes(this.int(1, 8));
          b = Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
          break;
        }
        case 4:
          b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + this.int(1, 4))]);
          break;
        default:
          // A length byte inside the body: the favourite place for an off-by-one.
          if (b.length > 23) b[this.int(19, b.length - 1)] = this.pick([0, 1, 2, 3, 4, 16, 32, 127, 128, 255]);
      }
    }
    // Usually keep the header consistent, so mutations reach the body parsers.
    if (this.bool(0.8) && b.length >= 19 && b.length <= 0xffff) {
      b.fill(0xff, 0, 16);
      b[16] = b.length >> 8;
      b[17] = b.length & 0xff;
    }
    return b;
  }
}

const OPTS: CodecOptions[] = [{ fourOctetAs: true }, { fourOctetAs: false }, { fourOctetAs: true, strict: true }];

test(`random valid messages round-trip (seed ${SEED}, n ${N})`, () => {
  const g = new Gen(SEED);
  for (let i = 0; i < N; i++) {
    const opts = g.pick(OPTS);
    const m = g.message(opts);
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m, opts);
    } catch (e) {
      // Only size: a random UPDATE may exceed 4096 bytes, which the encoder must refuse.
      assert.ok(e instanceof RangeError && /at most 4096/.test(e.message), `#${i} ${String(e)}`);
      assert.ok(encodingLength(m, opts) > 4096);
      continue;
    }
    assert.equal(bytes.length, encodingLength(m, opts), `#${i} encodingLength`);
    assert.equal(frameLength(bytes), bytes.length);
    assert.deepEqual(decodeMessage(bytes, opts), m, `#${i} (seed ${SEED}) ${m.type}`);
  }
});

function checkMutant(b: Uint8Array, opts: CodecOptions, what: string): 'ok' | 'error' {
  let m: BgpMessage;
  try {
    m = decodeMessage(b, opts);
  } catch (e) {
    assert.ok(e instanceof BgpError, `${what}: decode threw ${String(e)}`);
    assert.ok(e.code >= 1 && e.code <= 7, `${what}: error code ${e.code}`);
    return 'error';
  }
  // Decoded means representable: it encodes, and that decodes to the same routes and attributes
  // (the faults describe the bytes that came in: a dropped attribute is simply absent the second time).
  const again = encodeMessage(m, opts);
  const back = decodeMessage(again, opts);
  const strip = (x: BgpMessage) => (x.type === 'update' ? { ...x, treatAsWithdraw: undefined, discarded: undefined } : x);
  assert.deepEqual(strip(back), strip(m), `${what}: re-decoded differs`);
  return 'ok';
}

test(`mutated messages decode to something that re-encodes, or throw BgpError (seed ${SEED})`, () => {
  const g = new Gen(SEED + 1);
  const seeds: Uint8Array[] = [...Object.values(BIRD), ...Object.values(OURS)];
  for (let i = 0; i < 300; i++) {
    const opts = g.pick(OPTS);
    try {
      seeds.push(encodeMessage(g.message(opts), opts));
    } catch {
      // too big: skip
    }
  }
  const outcomes = { ok: 0, error: 0 };
  for (let i = 0; i < N * 5; i++) {
    const b = g.mutate(g.pick(seeds));
    outcomes[checkMutant(b, g.pick(OPTS), `mutant #${i} ${Buffer.from(b).toString('hex')}`)]++;
  }
  // Both paths are exercised (a fuzzer that only ever hits the header check tests nothing).
  assert.ok(outcomes.ok > N / 2 && outcomes.error > N / 2, JSON.stringify(outcomes));
});

test('frameLength over a mutated stream returns a length, undefined, or throws BgpError', () => {
  const g = new Gen(SEED + 2);
  const stream = Uint8Array.from([...BIRD.open4octetGr, ...BIRD.keepalive, ...BIRD.updateV4, ...BIRD.updateV6, ...BIRD.eorV6]);
  for (let i = 0; i < N; i++) {
    const b = g.mutate(stream);
    let at = 0;
    try {
      for (;;) {
        const n = frameLength(b, at);
        if (n === undefined) break;
        assert.ok(n >= 19 && n <= 4096 && at + n <= b.length);
        at += n;
      }
    } catch (e) {
      assert.ok(e instanceof BgpError && e.code === 1, String(e));
    }
  }
});
