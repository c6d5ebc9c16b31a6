import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictThrottle, conflictMessage } from '../../../src/speaker/conflict-report.ts';
import type { Conflict } from '../../../src/l2/announcer.ts';

const c = (ip: string, mac: string): Conflict => ({ ip, mac, nic: 'eth0', phase: 'announced' });

test('per IP: the first conflict is reported, the rest of the interval is one summary with the MACs', () => {
  const t = new ConflictThrottle(10_000);
  const first = t.note(c('192.0.2.1', 'aa'), 0);
  assert.ok('report' in first && first.report.conflicts === 1);
  for (let i = 1; i < 1000; i++) {
    const st = t.note(c('192.0.2.1', i % 2 ? 'bb' : 'aa'), i);
    assert.deepEqual(st, { holdUntil: 10_000 });
  }
  // Another IP is not held back by this one.
  assert.ok('report' in t.note(c('192.0.2.2', 'cc'), 500));
  assert.deepEqual(t.heldIps(), ['192.0.2.1']);
  const held = t.takeHeld('192.0.2.1', 10_000);
  assert.equal(held?.conflicts, 999);
  assert.deepEqual(held?.macs, ['bb', 'aa']);
  assert.equal(t.takeHeld('192.0.2.1', 10_000), undefined);
  // The interval restarts at the summary: a conflict right after it is held again.
  assert.ok('holdUntil' in t.note(c('192.0.2.1', 'aa'), 10_001));
  // After a quiet interval, the next one is reported at once.
  t.takeHeld('192.0.2.1', 20_000);
  assert.ok('report' in t.note(c('192.0.2.1', 'aa'), 30_001));
});

test('a spoofed flood of many MACs names a few and counts the rest', () => {
  const t = new ConflictThrottle(10_000);
  t.note(c('192.0.2.1', 'm0'), 0);
  for (let i = 1; i <= 100; i++) t.note(c('192.0.2.1', `m${i}`), i);
  const held = t.takeHeld('192.0.2.1', 10_000)!;
  assert.equal(held.macs.length, 4);
  assert.equal(held.moreMacs, 96);
  assert.match(conflictMessage(held, 'n1'), /another host \(MAC m1, m2, m3, m4 and 96 more\) claims 192\.0\.2\.1, which node n1 announces on NIC eth0 \(100 times since the last report\)/);
});
