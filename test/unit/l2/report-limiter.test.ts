import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReportLimiter } from '../../../src/l2/report-limiter.ts';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

test('claims alternating between two MACs for one IP: two reports, then one per interval with the count held back', () => {
  const l = new ReportLimiter({ ipBurst: 2, ipIntervalMs: 30_000, macBurst: 3, macIntervalMs: 30_000 });
  const verdicts = Array.from({ length: 1000 }, (_, i) => l.check('10.0.0.1', i % 2 ? B : A, i));
  assert.equal(verdicts.filter((v) => v.report).length, 2);
  assert.deepEqual(verdicts.slice(0, 3), [{ report: true, suppressed: 0 }, { report: true, suppressed: 0 }, { report: false }]);
  // 30 s after the first claim the IP has one token again; the report says how many were held back.
  assert.deepEqual(l.check('10.0.0.1', A, 30_000), { report: true, suppressed: 998 });
  assert.deepEqual(l.check('10.0.0.1', B, 30_001), { report: false });
});

test('one MAC claiming many IPs is bounded by its own bucket, other MACs are not', () => {
  const l = new ReportLimiter({ ipBurst: 2, macBurst: 3, macIntervalMs: 10_000 });
  const reported = Array.from({ length: 100 }, (_, i) => l.check(`10.0.0.${i}`, A, 0)).filter((v) => v.report).length;
  assert.equal(reported, 3);
  assert.equal(l.check('10.0.1.1', B, 0).report, true, 'another MAC is still reported');
  assert.equal(l.check('10.0.1.2', A, 9_999).report, false);
  assert.equal(l.check('10.0.1.2', A, 10_000).report, true, 'one token back after macIntervalMs');
});

test('forget() gives an IP a full bucket again; the number of buckets stays bounded', () => {
  const l = new ReportLimiter({ ipBurst: 1, maxKeys: 10 });
  assert.equal(l.check('10.0.0.1', A, 0).report, true);
  assert.equal(l.check('10.0.0.1', B, 1).report, false);
  l.forget('10.0.0.1');
  assert.deepEqual(l.check('10.0.0.1', B, 2), { report: true, suppressed: 0 });
  for (let i = 0; i < 1000; i++) l.check(`10.1.${i >> 8}.${i & 255}`, `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, 3 + i);
  assert.ok(l.size.ips <= 10 && l.size.macs <= 10, JSON.stringify(l.size));
});
