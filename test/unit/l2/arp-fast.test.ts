// fastArpReply (src/l2/arp-fast.ts) is the responder's allocation-free path for ARP requests. It
// must never answer where respond() would not, and must produce byte-identical replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastArpReply, ipv4Key, ipv4KeyOf } from '../../../src/l2/arp-fast.ts';
import { respond } from '../../../src/l2/respond.ts';
import { arpFrame, arpRequestFrame, arpProbeFrame } from '../../../src/l2/arp.ts';
import { parseIPv4 } from '../../../src/net/ip.ts';
import { parseMac } from '../../../src/l2/mac.ts';
import { ALL_CAPTURES } from './fixtures.ts';

const OUR = parseMac('02:00:00:00:00:0b')!;
const ASKER = parseMac('02:00:00:00:00:0a')!;
const ip = (s: string): Uint8Array => parseIPv4(s)!;
const OWNED = ['192.0.2.1', '192.0.2.2', '10.99.0.77'];
const keys = new Set(OWNED.map(ipv4KeyOf));
const owned = (s: string): boolean => OWNED.includes(s);

function agree(frame: Uint8Array, label: string): 'fast' | 'slow' {
  const out = new Uint8Array(42);
  const k = fastArpReply(frame, frame.length, OUR, keys, out);
  const d = respond(frame, { mac: OUR }, owned);
  if (k >= 0) {
    assert.equal(d.kind, 'reply', `${label}: fast path answered what respond() does not (${d.kind})`);
    if (d.kind === 'reply') {
      assert.deepEqual(out, d.frame, `${label}: reply bytes differ`);
      assert.equal(ipv4KeyOf(d.ip), k);
    }
    return 'fast';
  }
  return 'slow';
}

test('ipv4 keys', () => {
  assert.equal(ipv4KeyOf('10.99.0.77'), ipv4Key(ip('10.99.0.77')));
  assert.equal(ipv4KeyOf('255.255.255.255'), 0xffffffff);
  assert.ok(Number.isNaN(ipv4KeyOf('10.99.0')));
  assert.ok(Number.isNaN(ipv4KeyOf('10.99.0.256')));
  assert.ok(Number.isNaN(ipv4KeyOf('fd00::1')));
});

test('fastArpReply: takes the plain cases, leaves the rest to respond()', () => {
  assert.equal(agree(arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77')), 'broadcast request'), 'fast');
  const unicast = arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77'));
  unicast.set(OUR, 0);
  assert.equal(agree(unicast, 'unicast request'), 'fast');
  assert.equal(agree(arpProbeFrame(ASKER, ip('10.99.0.77')), 'probe'), 'fast');
  const padded = new Uint8Array(60);
  padded.set(arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77')));
  assert.equal(agree(padded, 'padded'), 'fast');
  assert.equal(agree(arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.78')), 'not owned'), 'slow');
  assert.equal(agree(arpRequestFrame(ASKER, ip('192.0.2.1'), ip('10.99.0.77')), 'sender IP is ours: conflict'), 'slow');
  assert.equal(agree(arpRequestFrame(OUR, ip('192.0.2.9'), ip('10.99.0.77')), 'own frame'), 'slow');
  const otherDst = arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77'));
  otherDst.set([2, 0, 0, 0, 0, 0x0c], 0);
  assert.equal(agree(otherDst, 'unicast to another MAC'), 'slow');
  const reply = arpFrame(OUR, ASKER, { op: 2, senderMac: ASKER, senderIp: ip('192.0.2.9'), targetMac: OUR, targetIp: ip('10.99.0.77') });
  assert.equal(agree(reply, 'reply'), 'slow');
  const mcastSender = arpRequestFrame(new Uint8Array([3, 0, 0, 0, 0, 1]), ip('192.0.2.9'), ip('10.99.0.77'));
  assert.equal(agree(mcastSender, 'multicast sender MAC'), 'slow');
  assert.equal(agree(arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77')).subarray(0, 41), 'truncated'), 'slow');
  assert.equal(fastArpReply(arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77')), 41, OUR, keys, new Uint8Array(42)), -1, 'length is honoured');
});

test('fastArpReply agrees with respond() on captures and 100,000 mutated requests', () => {
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (const [name, f] of Object.entries(ALL_CAPTURES)) agree(f, name);
  const bases = [
    arpRequestFrame(ASKER, ip('192.0.2.9'), ip('10.99.0.77')),
    arpProbeFrame(ASKER, ip('192.0.2.2')),
    arpRequestFrame(ASKER, ip('0.0.0.0'), ip('192.0.2.1')),
  ];
  let fast = 0;
  for (let i = 0; i < 100_000; i++) {
    const f = bases[rnd(bases.length)]!.slice();
    // Mutate header bytes often (where the checks are), payload bytes sometimes; sometimes nothing.
    for (let k = rnd(3); k > 0; k--) {
      const at = rnd(4) === 0 ? rnd(f.length) : [0, 5, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 31, 38, 41][rnd(20)]!;
      f[at] = rnd(3) === 0 ? OUR[at % 6]! : rnd(256);
    }
    if (agree(f, `mutation ${i}`) === 'fast') fast++;
  }
  assert.ok(fast > 10_000, `the fast path was exercised (${fast})`);
});
