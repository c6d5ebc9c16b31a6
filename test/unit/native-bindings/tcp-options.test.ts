// struct tcp_md5sig and sockaddr_in/in6 bytes, checked against the Linux uapi layout by offset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sockaddrIn, TCP_MD5SIG_SIZE, tcpMd5sig } from '../../../native-bindings/tcp-options.ts';

test('sockaddr_in / sockaddr_in6: family little-endian, port big-endian, address in place', () => {
  assert.deepEqual([...sockaddrIn(new Uint8Array([10, 0, 0, 1]), 179)], [2, 0, 0, 179, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  const v6 = sockaddrIn(new Uint8Array(16).fill(0xab), 0x1234);
  assert.equal(v6.length, 28);
  assert.deepEqual([...v6.subarray(0, 8)], [10, 0, 0x12, 0x34, 0, 0, 0, 0]);
  assert.deepEqual([...v6.subarray(8, 24)], new Array(16).fill(0xab));
  assert.throws(() => sockaddrIn(new Uint8Array(5), 1), /4 or 16 bytes/);
});

test('tcp_md5sig: 216 bytes; address at 0, keylen (u16) at 130, key at 136; flags/prefixlen/ifindex zero', () => {
  const b = tcpMd5sig(new Uint8Array([192, 0, 2, 1]), new TextEncoder().encode('s3cret'));
  assert.equal(b.length, TCP_MD5SIG_SIZE);
  assert.equal(TCP_MD5SIG_SIZE, 216);
  assert.deepEqual([...b.subarray(0, 8)], [2, 0, 0, 0, 192, 0, 2, 1]);
  assert.deepEqual([...b.subarray(128, 136)], [0, 0, 6, 0, 0, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(b.subarray(136, 142)), 's3cret');
  assert.ok(b.subarray(142).every((x) => x === 0));
  const del = tcpMd5sig(new Uint8Array(16), new Uint8Array());
  assert.deepEqual([...del.subarray(0, 2)], [10, 0]);
  assert.equal(del[130], 0);
  assert.throws(() => tcpMd5sig(new Uint8Array(4), new Uint8Array(81)), /at most 80/);
});
