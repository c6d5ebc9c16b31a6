// Random and mutated frames through every decoder, respond() and probeAnswered(): nothing may throw,
// every rejection uses a documented reason, every frame a codec accepts comes back from
// encode(decode(x)) byte for byte (round-trip.ts says exactly which bytes), and any reply
// respond() builds decodes cleanly itself.
// The allocation-free fast paths (arp-fast.ts, ndp-fast.ts) must answer exactly the requests
// respond() answers, with the same bytes. Seeded with a fixed default so every run is the same;
// OPENELB_FUZZ_SEED=<n> tries another seed (printed on failure), OPENELB_FUZZ_N overrides the count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REJECT_REASONS, type Decoded } from '../../../src/l2/result.ts';
import * as ethernet from '../../../src/l2/ethernet.ts';
import * as arp from '../../../src/l2/arp.ts';
import * as ipv6 from '../../../src/l2/ipv6.ts';
import * as ndp from '../../../src/l2/ndp.ts';
import { ndpFrame } from '../../../src/l2/ndp.ts';
import { icmpv6Checksum } from '../../../src/l2/icmpv6.ts';
import { ARP_REPLY_LENGTH, fastArpReply, ipv4KeyOf } from '../../../src/l2/arp-fast.ts';
import { NA_REPLY_LENGTH, fastNaReply } from '../../../src/l2/ndp-fast.ts';
import { respond, IGNORE_REASONS } from '../../../src/l2/respond.ts';
import { announcementFrames, probeAnswered, probeFrame } from '../../../src/l2/announce.ts';
import { formatMac, parseMac } from '../../../src/l2/mac.ts';
import { formatIPv6, parseIPv6 } from '../../../src/net/ip.ts';
import { ALL_CAPTURES, HOST_MAC, padded } from './fixtures.ts';
import { mulberry32 } from '../seeded-random.ts';
import { assertRoundTrip } from './round-trip.ts';

/** Fixed, so a failure in CI is a failure on every re-run; other seeds are an env variable away. */
const DEFAULT_SEED = 20_251_129;

const B = parseMac(HOST_MAC)!;
const OWNED = new Set(['192.0.2.1', '192.0.2.2', '2001:db8::2', '2001:db8::5', 'fe80::ff:fe00:a', '0.0.0.0']);
const owned = (ip: string) => OWNED.has(ip);
const OWNED4 = new Set([...OWNED].filter((ip) => !ip.includes(':')).map(ipv4KeyOf));
const ownedAt6 = (b: Uint8Array, offset: number) => OWNED.has(formatIPv6(b, offset));
const rejectSet = new Set<string>(REJECT_REASONS);
const ignoreSet = new Set<string>(IGNORE_REASONS);

const seeds: Uint8Array[] = [
  ...Object.values(ALL_CAPTURES),
  ...Object.values(ALL_CAPTURES).map(padded),
  ...announcementFrames('192.0.2.2', '02:00:00:00:00:0c'),
  ...announcementFrames('2001:db8::2', '02:00:00:00:00:0c'),
  probeFrame('192.0.2.2', '02:00:00:00:00:0c'),
  probeFrame('2001:db8::5', '02:00:00:00:00:0c'),
  ndpFrame(B, parseMac('02:00:00:00:00:0c')!, {
    type: 'ns', src: parseIPv6('2001:db8::9')!, dst: parseIPv6('2001:db8::2')!, hopLimit: 255, target: parseIPv6('2001:db8::2')!, sourceLinkLayer: null,
  }),
  // A solicitation whose source link-layer option claims OUR MAC (spoofed, or our own looped back
  // through a bridge that rewrote the Ethernet source): neither path may answer it.
  ndpFrame(parseMac('33:33:ff:00:00:02')!, parseMac('02:00:00:00:00:0c')!, {
    type: 'ns', src: parseIPv6('2001:db8::9')!, dst: parseIPv6('ff02::1:ff00:2')!, hopLimit: 255, target: parseIPv6('2001:db8::2')!, sourceLinkLayer: B,
  }),
];

// After mutating an IPv6 frame, sometimes repair the ICMPv6 checksum (and payload length) so the
// mutation reaches the validation past the checksum instead of stopping there every time.
function repair(f: Uint8Array, rnd: () => number): void {
  if (f.length < 54 + 4 || f[12] !== 0x86 || f[13] !== 0xdd || f[20] !== 58) return;
  if (rnd() < 0.5) {
    const len = f.length - 54;
    f[18] = len >> 8;
    f[19] = len & 0xff;
  }
  const plen = (f[18]! << 8) | f[19]!;
  if (54 + plen > f.length || plen < 4) return;
  const msg = f.subarray(54, 54 + plen);
  msg[2] = 0;
  msg[3] = 0;
  const s = icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), msg);
  msg[2] = s >> 8;
  msg[3] = s & 0xff;
}

function mutate(rnd: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rnd() * n);
  const kind = rnd();
  if (kind < 0.1) {
    // pure noise, sometimes with a plausible ethertype
    const f = new Uint8Array(pick(120));
    for (let i = 0; i < f.length; i++) f[i] = pick(256);
    if (f.length > 14 && rnd() < 0.7) {
      const t = [0x0806, 0x86dd, 0x8100, 0x88a8][pick(4)]!;
      f[12] = t >> 8;
      f[13] = t & 0xff;
      if (t === 0x86dd) f[14] = 0x60 | (f[14]! & 0x0f);
    }
    return f;
  }
  let f: Uint8Array = seeds[pick(seeds.length)]!.slice();
  const ops = 1 + pick(4);
  for (let o = 0; o < ops; o++) {
    const op = rnd();
    if (op < 0.45 && f.length > 0) {
      const i = pick(f.length);
      f[i] = f[i]! ^ (1 << pick(8)); // bit flip
    } else if (op < 0.65 && f.length > 0) {
      f[pick(f.length)] = [0, 0xff, 1, 2, 255, 135, 136, 58][pick(8)]!; // interesting byte
    } else if (op < 0.72 && f.length >= 6) {
      const at = [6, 22, 80, pick(f.length - 5)][pick(4)]!; // our MAC where a sender MAC could be
      if (at + 6 <= f.length) f.set(B, at);
    } else if (op < 0.8) {
      f = f.subarray(0, pick(f.length + 1)).slice(); // truncate
    } else {
      const extra = new Uint8Array(pick(40)); // extend (padding or junk options)
      for (let i = 0; i < extra.length; i++) extra[i] = rnd() < 0.5 ? 0 : pick(256);
      const g = new Uint8Array(f.length + extra.length);
      g.set(f);
      g.set(extra, f.length);
      f = g;
    }
  }
  if (rnd() < 0.6) repair(f, rnd);
  return f;
}

/**
 * The fast paths agree with respond(): what they answer, respond() answers with the same bytes, and
 * every ARP request or (non-DAD) solicitation respond() answers, the matching fast path answers too.
 */
function checkFastPaths(f: Uint8Array, d: ReturnType<typeof respond>): void {
  const arpOut = new Uint8Array(ARP_REPLY_LENGTH);
  const naOut = new Uint8Array(NA_REPLY_LENGTH);
  const arpHit = fastArpReply(f, f.length, B, OWNED4, arpOut) >= 0;
  const naHit = fastNaReply(f, f.length, B, ownedAt6, naOut);
  const strictArp = d.kind === 'reply' && (d.why === 'arp-request' || d.why === 'arp-probe');
  const strictNa = d.kind === 'reply' && (d.why === 'ns' || d.why === 'ns-nud');
  const said = d.kind === 'reply' ? `reply ${d.why} for ${d.ip} to ${formatMac(d.frame)}` : JSON.stringify(d);
  assert.equal(arpHit, strictArp, `fast ARP path ${arpHit ? 'answered' : 'declined'}, respond() gave ${said}`);
  assert.equal(naHit, strictNa, `fast NS path ${naHit ? 'answered' : 'declined'}, respond() gave ${said}`);
  if (d.kind === 'reply' && arpHit) assert.deepEqual(arpOut, d.frame, 'ARP reply bytes differ');
  if (d.kind === 'reply' && naHit) assert.deepEqual(naOut, d.frame, 'NA reply bytes differ');
}

function checkReason(d: Decoded<unknown>): void {
  if (!d.ok && !rejectSet.has(d.reason)) assert.fail(`undocumented reason ${d.reason}`);
}

test('fuzz: 100,000+ random and mutated frames through every decoder, respond() and probeAnswered()', (t) => {
  const seed = process.env.OPENELB_FUZZ_SEED ? Number(process.env.OPENELB_FUZZ_SEED) : DEFAULT_SEED;
  const n = process.env.OPENELB_FUZZ_N ? Number(process.env.OPENELB_FUZZ_N) : 120_000;
  t.diagnostic(`fuzz seed ${seed} (OPENELB_FUZZ_SEED=${seed} reproduces it)`);
  const rnd = mulberry32(seed);
  const kinds: Record<string, number> = {};
  const roundTrips: Record<string, number> = {};
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const f = mutate(rnd);
    try {
      checkReason(ethernet.decode(f));
      checkReason(arp.decode(f));
      checkReason(arp.decode(f.subarray(14)));
      checkReason(ipv6.decode(f.subarray(14)));
      checkReason(ndp.decode(f.subarray(14)));
      checkReason(ndp.decode(f));
      checkReason(ethernet.decode(f, 14));
      checkReason(arp.decode(f, 14));
      checkReason(ndp.decode(f, 14));
      for (const codec of assertRoundTrip(f)) roundTrips[codec] = (roundTrips[codec] ?? 0) + 1;
      const d = respond(f, { mac: B }, owned);
      checkFastPaths(f, d);
      kinds[d.kind + ':' + ('why' in d ? d.why : d.reason)] = (kinds[d.kind + ':' + ('why' in d ? d.why : d.reason)] ?? 0) + 1;
      if (d.kind === 'ignore') assert.ok(ignoreSet.has(d.reason), d.reason);
      if (d.kind === 'malformed') assert.ok(rejectSet.has(d.reason), d.reason);
      if (d.kind === 'reply') {
        assert.ok(owned(d.ip));
        const eth = ethernet.decode(d.frame);
        assert.ok(eth.ok, 'reply ethernet');
        assert.deepEqual(eth.value.src, B);
        const inner = eth.value.ethertype === 0x0806 ? arp.decode(eth.value.payload) : ndp.decode(eth.value.payload);
        assert.ok(inner.ok, `reply payload: ${inner.ok ? '' : inner.reason}`);
        // and our reply, seen by another responder that owns nothing, is not a question to answer
        assert.notEqual(respond(d.frame, { mac: parseMac('02:00:00:00:00:0d')! }, () => false).kind, 'reply');
      }
      probeAnswered(f, '192.0.2.2', B);
      probeAnswered(f, '2001:db8::5', B);
    } catch (err) {
      const hexFrame = Array.from(f, (x) => x.toString(16).padStart(2, '0')).join('');
      assert.fail(`OPENELB_FUZZ_SEED=${seed}, frame #${i} ${hexFrame}: ${(err as Error).stack ?? err}`);
    }
  }
  const ms = performance.now() - started;
  t.diagnostic(`${n} frames in ${ms.toFixed(0)} ms; outcomes ${JSON.stringify(kinds)}; round trips ${JSON.stringify(roundTrips)}`);
  for (const codec of ['ethernet', 'arp', 'ipv6', 'ndp']) assert.ok((roundTrips[codec] ?? 0) > 1000, `few frames accepted by ${codec}: ${roundTrips[codec]}`);
  // The mutations must actually reach the interesting paths, or the test proves little.
  const count = (prefix: string) => Object.entries(kinds).filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);
  assert.ok(n >= 100_000 || process.env.OPENELB_FUZZ_N, 'at least 100,000 frames');
  for (const k of ['reply:arp-request', 'reply:arp-probe', 'reply:ns', 'reply:ns-dad', 'conflict:', 'malformed:bad-checksum', 'malformed:truncated', 'ignore:vlan-tagged'])
    assert.ok(count(k) > 0, `fuzz never reached ${k}`);
  assert.ok(Object.keys(kinds).filter((k) => k.startsWith('malformed:')).length >= 10, 'fuzz reached too few rejection reasons');
});
