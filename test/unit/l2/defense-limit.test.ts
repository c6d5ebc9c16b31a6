// The DAD defence limiter: the first probe for an address in a while is answered at once, the
// rest of a burst within the interval are not, each address has its own interval, and withdrawn
// addresses are forgotten. The clock is a plain counter, so nothing here depends on timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAD_DEFENSE_INTERVAL_MS, DefenseLimiter } from '../../../src/l2/defense-limit.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 5_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('a burst of DAD probes for one address gets one defence per interval, the first at once', () => {
  const c = clock();
  const l = new DefenseLimiter(c.now);
  assert.equal(l.intervalMs, DAD_DEFENSE_INTERVAL_MS);
  let sent = 0;
  for (let i = 0; i < 1000; i++) {
    if (l.allow('fd00:99::77')) sent++;
    c.advance(1); // 1,000 probes per second
  }
  assert.equal(sent, 1, 'one second of flood: one defence');
  // Spaced like a real prober (RetransTimer, 1 s): every probe is answered.
  for (let i = 0; i < 3; i++) {
    c.advance(DAD_DEFENSE_INTERVAL_MS);
    assert.equal(l.allow('fd00:99::77'), true, `probe ${i} of a slow prober`);
  }
});

test('addresses are limited independently', () => {
  const c = clock();
  const l = new DefenseLimiter(c.now, 500);
  assert.equal(l.allow('fd00:99::77'), true);
  assert.equal(l.allow('fd00:99::78'), true, 'another address is defended although the first was just now');
  assert.equal(l.allow('fd00:99::77'), false);
  c.advance(499);
  assert.equal(l.allow('fd00:99::78'), false);
  c.advance(1);
  assert.equal(l.allow('fd00:99::77'), true, 'exactly one interval later');
});

test('a flood over many addresses keeps no more than the owned ones, and forgets withdrawn ones', () => {
  const c = clock();
  const l = new DefenseLimiter(c.now);
  for (let i = 0; i < 2000; i++) l.allow(`fd00:99::${i.toString(16)}`);
  assert.equal(l.tracked, 2000, 'all inside their interval');
  c.advance(DAD_DEFENSE_INTERVAL_MS);
  l.allow('fd00:99::ffff');
  assert.equal(l.tracked, 1, 'the sweep dropped every address whose interval is over');
});
