// The announcer's one-timer schedule: items fire in order of due time whatever the order they were
// scheduled in, a cancelled or rescheduled item fires once at its last time, and items scheduled
// from inside a firing run. The clock is the test's: only the order is asserted, never a duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schedule, type Scheduled } from '../../../src/l2/schedule.ts';

interface Item extends Scheduled {
  name: string;
}

const item = (name: string): Item => ({ name, due: 0, slot: -1 });

/** Waits (real time) until `cond` holds; the schedule's timer is armed for at most a few ms. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'schedule did not fire');
}

test('fires in due order; cancel and reschedule keep one firing per item at its last time', async () => {
  let clock = 0;
  const fired: string[] = [];
  const s = new Schedule<Item>((it) => fired.push(it.name), () => clock);
  const all = Array.from({ length: 200 }, (_, i) => item(`i${i}`));
  // Due times 0..199 in a scrambled order (a permutation: 37 is prime to 200).
  for (let i = 0; i < 200; i++) s.at(all[(i * 37) % 200]!, (i * 37) % 200);
  s.cancel(all[5]!);
  s.cancel(all[5]!); // twice: no-op
  s.at(all[7]!, 500); // moved after everything
  assert.equal(s.size, 199);
  clock = 300; // everything but i7 is due
  await until(() => fired.length === 198);
  const expected = all.map((x) => x.name).filter((n) => n !== 'i5' && n !== 'i7');
  assert.deepEqual(fired, expected);
  assert.equal(s.size, 1);
  clock = 600;
  await until(() => fired.length === 199);
  assert.equal(fired.at(-1), 'i7');
  assert.equal(s.size, 0);
  s.close();
});

test('an item scheduled again from its own firing fires again, later; close() forgets everything', async () => {
  let clock = 0;
  const fired: string[] = [];
  const a = item('a');
  const b = item('b');
  const s = new Schedule<Item>((it) => {
    fired.push(`${it.name}@${clock}`);
    if (it === a && fired.length < 3) s.at(a, 10);
  }, () => clock);
  s.at(a, 0);
  await until(() => fired.length === 1);
  clock = 10;
  await until(() => fired.length === 2);
  assert.deepEqual(fired, ['a@0', 'a@10']);
  s.at(b, 5);
  s.close();
  assert.equal(a.slot, -1);
  assert.equal(b.slot, -1);
  clock = 100;
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(fired, ['a@0', 'a@10'], 'nothing fires after close()');
});
