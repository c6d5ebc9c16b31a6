// RFC 4271 §6.3: an UPDATE whose Withdrawn Routes Length or Total Path Attribute Length runs past
// the message is a Malformed Attribute List (3/1), as BIRD, FRR and GoBGP answer it
// (test/netns/bgp-rogue-peer.test.ts), not a header length error (1/2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, decodeMessage } from '../../../src/bgp/codec/index.ts';

function update(body: number[]): Uint8Array {
  const m = new Uint8Array(19 + body.length).fill(0xff);
  m[16] = m.length >> 8;
  m[17] = m.length & 0xff;
  m[18] = 2;
  m.set(body, 19);
  return m;
}

test('an UPDATE whose path attribute length overruns it is 3/1 Malformed Attribute List', () => {
  assert.throws(() => decodeMessage(update([0, 0, 0, 200]), { fourOctetAs: true }), (e: unknown) => e instanceof BgpError && e.code === 3 && e.subcode === 1);
});

test('an UPDATE whose withdrawn routes length overruns it is 3/1 too', () => {
  assert.throws(() => decodeMessage(update([0, 9, 0, 0]), { fourOctetAs: true }), (e: unknown) => e instanceof BgpError && e.code === 3 && e.subcode === 1);
});
