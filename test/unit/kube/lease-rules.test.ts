import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type LeaseRecord,
  type Observation,
  aliveHolders,
  decideLease,
  effectiveDurationMs,
  holderDeadline,
  isExpired,
  nextExpiry,
  observe,
  parseMicroTime,
  releaseLease,
  toMicroTime,
} from '../../../src/kube/lease-rules.ts';

const wall = new Date('2026-11-22T09:00:00.123Z');
const D = 2000; // ms

const held = (holder: string, o: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holder,
  leaseDurationSeconds: 2,
  acquireTime: new Date('2026-11-22T08:00:00Z'),
  renewTime: new Date('2026-11-22T08:59:59Z'),
  transitions: 3,
  resourceVersion: '100',
  ...o,
});

test('no lease yet: acquire with transitions 0 and whole-second duration', () => {
  const a = decideLease('me', undefined, 1000, 1500, wall);
  assert.equal(a.kind, 'acquire');
  assert.ok(a.kind === 'acquire');
  assert.deepEqual(a.next, { holder: 'me', leaseDurationSeconds: 2, acquireTime: wall, renewTime: wall, transitions: 0 });
});

test('expiry is judged by local observation time, not by the holder-written renewTime', () => {
  // renewTime far in the past (holder's clock behind): still valid while recently observed
  const past: Observation = { record: held('other', { renewTime: new Date('2000-01-01T00:00:00Z') }), observedAt: 10_000 };
  assert.equal(isExpired(past, 11_000, D), false);
  const w = decideLease('me', past, 11_000, D, wall);
  assert.deepEqual(w, { kind: 'wait', until: 12_000, holder: 'other' });
  // renewTime far in the future (holder's clock ahead): expires anyway once unchanged for D
  const future: Observation = { record: held('other', { renewTime: new Date('2099-01-01T00:00:00Z') }), observedAt: 10_000 };
  assert.equal(isExpired(future, 11_999, D), false);
  assert.equal(isExpired(future, 12_000, D), true);
});

test('observe: observedAt moves only when the record changes', () => {
  const r1 = held('other');
  const o1 = observe(undefined, r1, 1000);
  assert.equal(o1.observedAt, 1000);
  const o2 = observe(o1, { ...r1 }, 1900); // re-read, unchanged
  assert.equal(o2.observedAt, 1000);
  assert.equal(isExpired(o2, 3000, D), true);
  const o3 = observe(o2, { ...r1, resourceVersion: '101', renewTime: new Date() }, 2500); // renewed
  assert.equal(o3.observedAt, 2500);
  assert.equal(isExpired(o3, 3000, D), false);
  // without resourceVersions, field changes count
  const a = { holder: 'x', renewTime: new Date(1) };
  const oa = observe(undefined, a, 0);
  assert.equal(observe(oa, { holder: 'x', renewTime: new Date(1) }, 50).observedAt, 0);
  assert.equal(observe(oa, { holder: 'x', renewTime: new Date(2) }, 50).observedAt, 50);
});

test('acquire after expiry increments transitions and keeps the resourceVersion for the PUT', () => {
  const obs: Observation = { record: held('other'), observedAt: 0 };
  const a = decideLease('me', obs, 2000, D, wall);
  assert.ok(a.kind === 'acquire');
  assert.equal(a.next.holder, 'me');
  assert.equal(a.next.transitions, 4);
  assert.equal(a.next.resourceVersion, '100');
  assert.equal(a.next.acquireTime, wall);
  assert.equal(a.next.renewTime, wall);
});

test('renew by the holder keeps acquireTime and transitions', () => {
  const rec = held('me');
  const a = decideLease('me', { record: rec, observedAt: 0 }, 999_999, D, wall);
  assert.ok(a.kind === 'renew');
  assert.equal(a.next.renewTime, wall);
  assert.equal(a.next.acquireTime, rec.acquireTime);
  assert.equal(a.next.transitions, 3);
  assert.equal(a.next.resourceVersion, '100');
});

test('release clears the holder; a released lease is immediately acquirable and not alive', () => {
  const obs: Observation = { record: held('me'), observedAt: 5000 };
  const r = releaseLease('me', obs, wall);
  assert.ok(r && r.kind === 'release');
  assert.equal(r.next.holder, '');
  assert.equal(r.next.leaseDurationSeconds, 1);
  assert.equal(r.next.transitions, 3);
  assert.equal(releaseLease('someone-else', obs, wall), undefined);
  assert.equal(releaseLease('me', undefined, wall), undefined);

  const seen: Observation = { record: r.next, observedAt: 6000 };
  assert.equal(isExpired(seen, 6000, D), true);
  const a = decideLease('peer', seen, 6000, D, wall);
  assert.ok(a.kind === 'acquire');
  assert.equal(a.next.transitions, 4);
  assert.equal(aliveHolders(new Map([['n1', seen]]), 6000, D).size, 0);
});

test('aliveHolders and nextExpiry over membership leases', () => {
  const obs = new Map<string, Observation>([
    ['node-a', { record: held('node-a'), observedAt: 1000 }],
    ['node-b', { record: held('node-b'), observedAt: 500 }],
    ['node-c', { record: held('node-c'), observedAt: -5000 }], // expired
    ['node-d', { record: held('', {}), observedAt: 1000 }], // released
  ]);
  assert.deepEqual([...aliveHolders(obs, 2000, D)].sort(), ['node-a', 'node-b']);
  assert.equal(nextExpiry(obs, 2000, D), 2500);
  assert.deepEqual([...aliveHolders(obs, 2600, D)], ['node-a']);
});

test('the holder-stated duration is honoured unless it is our own duration rounded up', () => {
  assert.equal(effectiveDurationMs({ leaseDurationSeconds: 2 }, 1500), 1500);
  assert.equal(effectiveDurationMs({ leaseDurationSeconds: 10 }, 1500), 10_000);
  assert.equal(effectiveDurationMs({ leaseDurationSeconds: 1 }, 1500), 1000);
  assert.equal(effectiveDurationMs({}, 1500), 1500);
  // a holder configured with 15 s is waited for, although we use 1.5 s
  const slow: Observation = { record: held('other', { leaseDurationSeconds: 15 }), observedAt: 0 };
  assert.equal(decideLease('me', slow, 10_000, 1500, wall).kind, 'wait');
  assert.equal(decideLease('me', slow, 15_000, 1500, wall).kind, 'acquire');
  assert.equal(holderDeadline(100, 1500), 1600);
});

test('toMicroTime gives RFC 3339 UTC with exactly 6 fractional digits', () => {
  assert.equal(toMicroTime(new Date('2026-11-22T09:00:00.123Z')), '2026-11-22T09:00:00.123000Z');
  assert.equal(toMicroTime(new Date('2026-01-02T03:04:05Z')), '2026-01-02T03:04:05.000000Z');
  assert.equal(toMicroTime(new Date('2026-06-01T12:00:00.5+02:00')), '2026-06-01T10:00:00.500000Z');
  assert.match(toMicroTime(new Date()), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  assert.equal(parseMicroTime('2026-11-22T09:00:00.123456Z')?.getTime(), Date.parse('2026-11-22T09:00:00.123Z'));
  assert.equal(parseMicroTime('2026-11-22T09:00:00Z')?.getTime(), Date.parse('2026-11-22T09:00:00Z'));
  assert.equal(parseMicroTime('yesterday'), undefined);
});
