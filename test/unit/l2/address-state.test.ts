import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimChangesOwner, claimEndsProbe, firstState, jittered, nextAnnouncementMs, probeStep } from '../../../src/l2/address-state.ts';

test('an address probes first only when asked and probing is on', () => {
  assert.equal(firstState(true, 200), 'probing');
  assert.equal(firstState(true, 0), 'announcing');
  assert.equal(firstState(false, 200), 'announcing');
});

test('a probing round sends two probes half the window apart, then the address is free', () => {
  assert.deepEqual(probeStep(0, 200), { kind: 'send', waitMs: 100 });
  assert.deepEqual(probeStep(1, 200), { kind: 'send', waitMs: 100 });
  assert.deepEqual(probeStep(2, 200), { kind: 'free' });
});

test('announcements: burst interval while the burst lasts, then a jittered refresh, or none', () => {
  assert.equal(nextAnnouncementMs(3, 1100, 30_000, 0.5), 1100);
  const refresh = (random: number): number => Math.round(nextAnnouncementMs(0, 1100, 30_000, random) ?? -1);
  assert.deepEqual([0, 0.5, 1].map(refresh), [27_000, 30_000, 33_000]);
  assert.equal(nextAnnouncementMs(0, 1100, 0, 0.5), null);
  assert.equal(Math.round(jittered(1000, 0.25)), 950);
});

test('claims: recorded once per change of claimer while announcing; while probing they end the probe', () => {
  assert.equal(claimChangesOwner('announcing', undefined, 'a'), true);
  assert.equal(claimChangesOwner('announcing', 'a', 'a'), false);
  assert.equal(claimChangesOwner('announcing', 'a', 'b'), true);
  for (const s of ['probing', 'conflict', 'error', null] as const) assert.equal(claimChangesOwner(s, undefined, 'a'), false);
  assert.equal(claimEndsProbe('probing'), true);
  for (const s of ['announcing', 'conflict', 'error', null] as const) assert.equal(claimEndsProbe(s), false);
});
