import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMBINED_PREFIX, EventSeries, type SeriesStep } from '../../../src/kube/event-series.ts';

const limits = { burst: 3, refillMs: 60_000, updateIntervalMs: 10_000 };
const wall = new Date('2026-01-01T00:00:00Z');
// Read through a call: an assertion on s.content would narrow it for the rest of a test.
const contentOf = (s: EventSeries) => s.content;

/** Drive a series like the recorder does, with writes that succeed at once; count the writes. */
function drive(s: EventSeries, step: SeriesStep, now: number, log: string[]): void {
  if (step.write === 'create' || step.write === 'update') {
    log.push(step.write);
    s.written(step.write, { ok: true, name: step.write === 'create' ? `ev${log.length}` : undefined } as never, now);
    drive(s, s.next(now), now, log);
  }
}

test('distinct messages: `burst` Events, then folds into the live one, one update per interval', () => {
  const s = new EventSeries(0, limits);
  const writes: string[] = [];
  // 1,000 distinct messages in 1 s (a conflict flood naming alternating MACs).
  for (let i = 0; i < 1000; i++) drive(s, s.note('Warning', `m${i}`, i, wall), i, writes);
  assert.deepEqual(writes, ['create', 'create', 'create']);
  assert.equal(s.pending, true);
  // The fold waits for the update interval after the last write, then goes out once.
  assert.equal(s.next(5_000).write, 'wait');
  const step = s.next(10_002);
  assert.deepEqual(step, { write: 'update', name: 'ev3' });
  assert.equal(s.content?.count, 998);
  assert.equal(s.content?.message, `${COMBINED_PREFIX}m999`);
});

test('writes stay bounded over time: burst + t/refill creates + t/interval updates', () => {
  const s = new EventSeries(0, limits);
  const writes: string[] = [];
  let emitted = 0;
  // One distinct message every 10 ms for 10 minutes; the recorder's timer calls next() when asked.
  let timerAt: number | undefined;
  for (let now = 0; now <= 600_000; now += 10) {
    if (timerAt !== undefined && now >= timerAt) {
      timerAt = undefined;
      const st = s.next(now);
      if (st.write === 'wait' && st.inMs !== undefined) timerAt = now + st.inMs;
      else drive(s, st, now, writes);
    }
    const st = s.note('Warning', `m${emitted++}`, now, wall);
    if (st.write === 'wait' && st.inMs !== undefined) timerAt ??= now + st.inMs;
    else drive(s, st, now, writes);
  }
  const creates = writes.filter((w) => w === 'create').length;
  const updates = writes.filter((w) => w === 'update').length;
  assert.ok(creates <= 3 + 10, `${creates} creates`);
  assert.ok(updates <= 61, `${updates} updates`);
  assert.ok(updates >= 50, `folds are written, not dropped: ${updates} updates`);
});

test('a fold while the create is in flight goes out as an update after it; nothing is written twice at once', () => {
  const s = new EventSeries(0, limits);
  assert.deepEqual(s.note('Warning', 'a', 0, wall), { write: 'create' });
  assert.deepEqual(s.note('Warning', 'b', 1, wall), { write: 'wait' });
  s.written('create', { ok: true, name: 'ev1' }, 2);
  assert.deepEqual(s.next(2, true), { write: 'update', name: 'ev1' });
  assert.equal(s.content?.count, 2);
  assert.equal(s.content?.message, `${COMBINED_PREFIX}b`);
});

test('a failed create is dropped; an update of a vanished Event becomes a create', () => {
  const s = new EventSeries(0, limits);
  assert.equal(s.note('Warning', 'a', 0, wall).write, 'create');
  s.written('create', { ok: false }, 1);
  assert.ok(contentOf(s) === undefined && !s.pending);
  assert.equal(s.note('Warning', 'a', 2, wall).write, 'create');
  s.written('create', { ok: true, name: 'ev1' }, 3);
  assert.equal(s.note('Warning', 'b', 4, wall).write, 'create');
  s.written('create', { ok: true, name: 'ev2' }, 5);
  assert.equal(s.note('Warning', 'c', 6, wall).write, 'wait'); // budget of 3 spent
  const up = s.next(20_000);
  assert.deepEqual(up, { write: 'update', name: 'ev2' });
  s.written('update', { ok: false, gone: true }, 20_001);
  assert.equal(s.name, undefined);
  // No token until the refill: waits, then creates a fresh Event carrying the count.
  const w = s.next(20_002);
  assert.equal(w.write, 'wait');
  assert.deepEqual(s.next(60_000), { write: 'create' });
  assert.equal(s.content?.count, 2);
});

test('settled: only with nothing owed and the whole budget back, when a fresh series would decide the same', () => {
  const s = new EventSeries(0, limits);
  const writes: string[] = [];
  assert.equal(s.settled(0), true, 'fresh');
  const step = s.note('Normal', 'a', 0, wall);
  assert.equal(s.settled(0), false, 'a write in flight');
  drive(s, step, 0, writes);
  assert.equal(s.settled(1), false, 'one token spent');
  assert.equal(s.settled(limits.refillMs), true, 'refilled');
  for (let i = 0; i < 4; i++) drive(s, s.note('Normal', `b${i}`, limits.refillMs, wall), limits.refillMs, writes);
  assert.equal(s.pending, true);
  assert.equal(s.settled(10 * limits.refillMs), false, 'a fold is still owed to the live Event');
});

test('the same message again after another one (the dedupe let it through) counts on the live Event, as client-go does', () => {
  const s = new EventSeries(0, limits);
  const writes: string[] = [];
  drive(s, s.note('Warning', 'no node announces 192.0.2.9', 0, wall), 0, writes);
  assert.deepEqual(writes, ['create']);
  // No announcer, then one (another reason, another series), then none again with the same text.
  const later = new Date(wall.getTime() + 5_000);
  const step = s.note('Warning', 'no node announces 192.0.2.9', 20_000, later);
  assert.deepEqual(step, { write: 'update', name: 'ev1' }, 'an update of the Event that says it, not a second Event');
  assert.deepEqual(contentOf(s), { type: 'Warning', message: 'no node announces 192.0.2.9', count: 2, first: wall, last: later });
  // A repeat while that Event's create is still in flight waits for it, then updates it.
  const t = new EventSeries(0, limits);
  assert.deepEqual(t.note('Warning', 'a', 0, wall), { write: 'create' });
  assert.deepEqual(t.note('Warning', 'a', 1, wall), { write: 'wait' });
  t.written('create', { ok: true, name: 'ev1' }, 2);
  assert.deepEqual(t.next(2), { write: 'wait', inMs: limits.updateIntervalMs }, 'one write per interval, as for any fold');
  assert.deepEqual(t.next(2 + limits.updateIntervalMs), { write: 'update', name: 'ev1' });
  assert.equal(contentOf(t)?.count, 2);
  assert.equal(contentOf(t)?.message, 'a', 'a repeat is not marked combined');
  // A different type with the same text is a different Event; so is a message that differs.
  const u = new EventSeries(0, limits);
  drive(u, u.note('Normal', 'a', 0, wall), 0, writes);
  assert.equal(u.note('Warning', 'a', 1, wall).write, 'create');
});
