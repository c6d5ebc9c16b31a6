// claimOf (src/l2/claim.ts) must agree with probeAnswered (src/l2/announce.ts): the announcer uses
// claimOf for its probing set, so any disagreement would hide or invent a conflict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimOf } from '../../../src/l2/claim.ts';
import { probeAnswered } from '../../../src/l2/announce.ts';
import { parseMac } from '../../../src/l2/mac.ts';
import { ALL_CAPTURES, CAP_ARP_PROBE, CAP_ARP_PROBE_REPLY, CAP_ARP_REQUEST, CAP_DAD_NS, CAP_NA, CAP_NS, CAP_RS, CLIENT_MAC, HOST_MAC } from './fixtures.ts';

const A = parseMac(CLIENT_MAC)!;
const B = parseMac(HOST_MAC)!;
const C = parseMac('02:00:00:00:00:0c')!;

test('claimOf: what each captured frame claims, by whom', () => {
  assert.deepEqual(claimOf(CAP_ARP_PROBE_REPLY, A), { ip: '192.0.2.2', mac: HOST_MAC });
  assert.equal(claimOf(CAP_ARP_PROBE, A), null, 'our own probe');
  assert.deepEqual(claimOf(CAP_ARP_PROBE, C), { ip: '192.0.2.2', mac: CLIENT_MAC }, 'a probe claims its target');
  assert.deepEqual(claimOf(CAP_ARP_REQUEST, C), { ip: '192.0.2.1', mac: CLIENT_MAC }, 'a request claims its sender IP');
  assert.deepEqual(claimOf(CAP_NA, A), { ip: '2001:db8::2', mac: HOST_MAC });
  assert.equal(claimOf(CAP_NA, B), null);
  assert.deepEqual(claimOf(CAP_DAD_NS, B), { ip: '2001:db8::5', mac: CLIENT_MAC }, 'DAD claims its target');
  assert.deepEqual(claimOf(CAP_NS, C), { ip: 'fe80::ff:fe00:a', mac: CLIENT_MAC }, 'an NS claims its source');
  assert.equal(claimOf(CAP_RS, C), null);
  assert.equal(claimOf(new Uint8Array(5), C), null);
});

test('claimOf agrees with probeAnswered on every capture and 20,000 mutations', () => {
  const macs = [A, B, C];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const check = (frame: Uint8Array): void => {
    for (const mac of macs) {
      const c = claimOf(frame, mac);
      // probeAnswered(frame, ip) is non-false exactly for the claimed ip, with the same MAC.
      if (c) assert.equal(probeAnswered(frame, c.ip, mac), c.mac);
      for (const ip of ['192.0.2.1', '192.0.2.2', '2001:db8::2', '2001:db8::5', 'fe80::ff:fe00:a']) {
        if (c?.ip === ip) continue;
        assert.equal(probeAnswered(frame, ip, mac), false, `${ip} not claimed by ${Buffer.from(frame).toString('hex')}`);
      }
    }
  };
  const captures = Object.values(ALL_CAPTURES);
  for (const f of captures) check(f);
  for (let i = 0; i < 20_000; i++) {
    const f = captures[rnd(captures.length)]!.slice();
    // Mutate a few bytes, biased to the addresses and MACs (where claims live).
    for (let k = 1 + rnd(3); k > 0; k--) f[rnd(f.length)] = rnd(256);
    check(f);
  }
});
