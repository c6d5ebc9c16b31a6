// originatedAsPath: what we put on our own routes, per peer kind and AS width (RFC 4271 §5.1.2, RFC 6793 §4.2.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AS_TRANS, decodeMessage, encodeMessage, originatedAsPath, type UpdateMessage } from '../../../src/bgp/codec/index.ts';

test('empty to an internal peer, our AS to an external one', () => {
  assert.deepEqual(originatedAsPath(65001, 65001, true), { asPath: [] });
  assert.deepEqual(originatedAsPath(4200000001, 4200000001, false), { asPath: [] });
  assert.deepEqual(originatedAsPath(65001, 65002, false), { asPath: [{ type: 2, asns: [65001] }] });
  assert.deepEqual(originatedAsPath(4200000001, 65002, true), { asPath: [{ type: 2, asns: [4200000001] }] });
});

test('a 4-octet AS towards a 2-octet peer: AS_TRANS in AS_PATH, the real AS in AS4_PATH, and it encodes', () => {
  const path = originatedAsPath(4200000001, 65002, false);
  assert.deepEqual(path, { asPath: [{ type: 2, asns: [AS_TRANS] }], as4Path: [{ type: 2, asns: [4200000001] }] });
  const u: UpdateMessage = { type: 'update', withdrawn: [], attributes: { origin: 0, ...path, nextHop: '192.0.2.1' }, nlri: [{ address: '203.0.113.1', length: 32 }] };
  const two = { fourOctetAs: false };
  assert.deepEqual(decodeMessage(encodeMessage(u, two), two), u);
  // Without the helper the codec refuses rather than sending a truncated ASN.
  assert.throws(() => encodeMessage({ ...u, attributes: { ...u.attributes, asPath: [{ type: 2, asns: [4200000001] }] } }, two), RangeError);
});
