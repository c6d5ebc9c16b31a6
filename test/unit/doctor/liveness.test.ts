import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLiveness } from '../../../src/doctor/liveness.ts';

test('liveness: beacons everywhere pass; Lease-only NICs are reported with the fix; no Lease or no API cannot tell', () => {
  const ok = checkLiveness({ kind: 'lease', lease: 'openelb-system/openelb-speaker-n1', holder: 'n1', leaseOnlyNics: [] });
  assert.equal(ok.status, 'ok');
  const lo = checkLiveness({ kind: 'lease', lease: 'openelb-system/openelb-speaker-n1', holder: 'n1', leaseOnlyNics: ['eth1'] });
  assert.equal(lo.status, 'unknown');
  assert.match(lo.detail, /Lease-only liveness on eth1/);
  assert.match(lo.fix ?? '', /03:6f:65:6c:62:00 with ethertype 0x88B5/);
  assert.equal(checkLiveness({ kind: 'lease', lease: 'x', holder: '', leaseOnlyNics: [] }).status, 'unknown');
  assert.match(checkLiveness({ kind: 'no-lease', lease: 'ns/openelb-speaker-n9' }).detail, /no speaker has run/);
  assert.equal(checkLiveness({ kind: 'no-api', why: '--offline' }).status, 'unknown');
});
