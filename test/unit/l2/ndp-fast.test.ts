// fastNaReply (src/l2/ndp-fast.ts) is the responder's allocation-free path for Neighbor
// Solicitations. It must never answer where respond() would not, and must produce identical replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastNaReply, NA_REPLY_LENGTH } from '../../../src/l2/ndp-fast.ts';
import { respond } from '../../../src/l2/respond.ts';
import { ndpFrame } from '../../../src/l2/ndp.ts';
import { icmpv6Checksum } from '../../../src/l2/icmpv6.ts';
import { formatIPv6, parseIPv6 } from '../../../src/net/ip.ts';
import { solicitedNodeAddress } from '../../../src/l2/ipv6.ts';
import { parseMac, solicitedNodeMulticastMac } from '../../../src/l2/mac.ts';
import { ALL_CAPTURES } from './fixtures.ts';

const OUR = parseMac('02:00:00:00:00:0b')!;
const ASKER = parseMac('02:00:00:00:00:0a')!;
const ip6 = (s: string): Uint8Array => parseIPv6(s)!;
const OWNED = ['2001:db8::2', '2001:db8::5', 'fd00:99::77', 'fe80::ff:fe00:b'];
const owned = (s: string): boolean => OWNED.includes(s);
const ownedBytes = (b: Uint8Array, o: number): boolean => owned(formatIPv6(b, o));

function agree(frame: Uint8Array, label: string): 'fast' | 'slow' {
  const out = new Uint8Array(NA_REPLY_LENGTH);
  const hit = fastNaReply(frame, frame.length, OUR, ownedBytes, out);
  const d = respond(frame, { mac: OUR }, owned);
  if (hit) {
    assert.equal(d.kind, 'reply', `${label}: fast path answered what respond() does not (${JSON.stringify(d)})`);
    if (d.kind === 'reply') {
      assert.ok(d.why === 'ns' || d.why === 'ns-nud', `${label}: ${d.why}`);
      assert.deepEqual(out, d.frame, `${label}: reply bytes differ`);
    }
    return 'fast';
  }
  // Declined: respond() may still defend against DAD, but must not answer a solicitation itself.
  assert.ok(d.kind !== 'reply' || d.why === 'ns-dad', `${label}: fast path declined what respond() answers (${d.kind === 'reply' ? d.why : ''})`);
  return 'slow';
}

function ns(target: string, opts: { src?: string; dstMac?: Uint8Array; hop?: number; slla?: Uint8Array | null; ethSrc?: Uint8Array } = {}): Uint8Array {
  const t = ip6(target);
  return ndpFrame(opts.dstMac ?? solicitedNodeMulticastMac(t), opts.ethSrc ?? ASKER, {
    type: 'ns', src: ip6(opts.src ?? 'fd00:99::2'), dst: solicitedNodeAddress(t), hopLimit: opts.hop ?? 255, target: t,
    sourceLinkLayer: opts.slla === undefined ? ASKER : opts.slla,
  });
}

/** Recomputes the ICMPv6 checksum of an Ethernet+IPv6 frame after a mutation (so validation goes deeper). */
function fixChecksum(f: Uint8Array): void {
  if (f.length < 58) return;
  const pl = (f[18]! << 8) | f[19]!;
  if (54 + pl > f.length || pl < 4) return;
  f[56] = 0;
  f[57] = 0;
  const c = icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), f.subarray(54, 54 + pl));
  f[56] = c >> 8;
  f[57] = c & 0xff;
}

test('fastNaReply: takes plain solicitations, leaves the rest to respond()', () => {
  assert.equal(agree(ns('fd00:99::77'), 'multicast NS'), 'fast');
  assert.equal(agree(ns('fd00:99::77', { dstMac: OUR }), 'unicast NUD'), 'fast');
  assert.equal(agree(ns('fd00:99::77', { slla: null }), 'no source lladdr: Ethernet source'), 'fast');
  const padded = new Uint8Array(120);
  padded.set(ns('fd00:99::77'));
  assert.equal(agree(padded, 'padded'), 'fast');
  assert.equal(agree(ns('fd00:99::78'), 'not owned'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { src: '::', slla: null }), 'DAD'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { src: '2001:db8::5' }), 'source is ours: conflict'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { hop: 64 }), 'hop limit'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { ethSrc: OUR, slla: OUR }), 'own frame'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { dstMac: parseMac('02:00:00:00:00:0c')! }), 'unicast to another MAC'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { slla: parseMac('03:00:00:00:00:01')! }), 'multicast asker'), 'slow');
  assert.equal(agree(ns('fd00:99::77', { slla: OUR }), 'source link-layer option is our MAC'), 'slow');
  const bad = ns('fd00:99::77');
  bad[60] = bad[60]! ^ 1;
  assert.equal(agree(bad, 'bad checksum'), 'slow');
  const f = ns('fd00:99::77');
  assert.equal(fastNaReply(f, f.length - 1, OUR, ownedBytes, new Uint8Array(NA_REPLY_LENGTH)), false, 'length is honoured');
});

test('fastNaReply agrees with respond() on captures and 50,000 mutated solicitations', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (const [name, f] of Object.entries(ALL_CAPTURES)) agree(f, name);
  const bases = [ns('fd00:99::77'), ns('2001:db8::5', { dstMac: OUR }), ns('fd00:99::77', { slla: null }), ns('fe80::ff:fe00:b', { src: 'fe80::1' })];
  const hot = [0, 5, 6, 11, 14, 18, 19, 20, 21, 22, 37, 54, 55, 62, 77, 78, 79, 80, 85];
  let fast = 0;
  for (let i = 0; i < 50_000; i++) {
    const base = bases[rnd(bases.length)]!;
    let f = base.slice();
    if (rnd(5) === 0) {
      // Extra or odd-length options / trailing bytes.
      const g = new Uint8Array(f.length + 8 * (1 + rnd(2)));
      g.set(f);
      for (let k = f.length; k < g.length; k++) g[k] = rnd(256);
      const pl = g.length - 54 - (rnd(3) === 0 ? 8 : 0);
      g[18] = pl >> 8;
      g[19] = pl & 0xff;
      f = g;
    }
    for (let k = rnd(3); k > 0; k--) {
      const at = rnd(3) === 0 ? rnd(f.length) : hot[rnd(hot.length)]!;
      if (at < f.length) f[at] = rnd(3) === 0 ? OUR[at % 6]! : rnd(256);
    }
    // Our MAC as the whole Ethernet source or source link-layer option (spoofed / looped back).
    if (rnd(20) === 0) {
      const at = [6, 80][rnd(2)]!;
      if (at + 6 <= f.length) f.set(OUR, at);
    }
    if (rnd(10) !== 0) fixChecksum(f);
    if (agree(f, `mutation ${i}`) === 'fast') fast++;
  }
  assert.ok(fast > 5_000, `the fast path was exercised (${fast})`);
});
