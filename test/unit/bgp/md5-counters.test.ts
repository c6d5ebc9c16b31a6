import assert from 'node:assert/strict';
import { test } from 'node:test';
import { md5Hint, parseMd5Counters, rise } from '../../../src/bgp/md5-counters.ts';

const NETSTAT = `TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPAckSkippedSynRecv
TcpExt: 0 2 3 7 0
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
`;

test('TcpExt MD5 counters are read by name, not position', () => {
  assert.deepEqual(parseMd5Counters(NETSTAT), { notFound: 2, unexpected: 3, failure: 7 });
  assert.equal(parseMd5Counters('IpExt: A\nIpExt: 1\n'), undefined);
  assert.equal(parseMd5Counters('TcpExt: SyncookiesSent\nTcpExt: 0\n'), undefined, 'a kernel without TCP MD5');
});

test('the hint names what was dropped, only what concerns a peer with or without a password', () => {
  const r = rise({ failure: 9, notFound: 4, unexpected: 3 }, { failure: 7, notFound: 2, unexpected: 3 });
  assert.deepEqual(r, { failure: 2, notFound: 2, unexpected: 0 });
  assert.equal(md5Hint(r, true), "the kernel dropped TCP segments (2 with a wrong MD5 signature, 2 unsigned though a password is set; counted for all peers of this node): authPassword probably differs from the router's");
  assert.match(md5Hint(r, false)!, /\(2 with a wrong MD5 signature; /);
  assert.equal(md5Hint({ failure: 0, notFound: 5, unexpected: 0 }, false), undefined, 'unsigned segments are normal for a peer without a password');
  assert.match(md5Hint({ failure: 0, notFound: 0, unexpected: 1 }, false)!, /1 signed though no password is set/);
  assert.equal(md5Hint({ failure: 0, notFound: 0, unexpected: 0 }, true), undefined);
});
