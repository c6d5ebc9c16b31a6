// The Lease store's decisions on scripted timelines: the clock is injected and the Lease API is
// an in-memory model of the API server's Lease semantics (resourceVersion preconditions, 409
// Conflict / AlreadyExists, 404). The same store against the real kube-apiserver is covered by
// test/cluster/kube-election.test.ts and kube-membership.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { type Clock, type LeaseApi, LeaseStore } from '../../../src/kube/lease-store.ts';
import { leaseRecordOf } from '../../../src/kube/lease-object.ts';

class ScriptedClock implements Clock {
  t = 1000;
  wallMs = Date.parse('2026-11-29T05:00:00.000Z');
  now(): number {
    return this.t;
  }
  wall(): Date {
    return new Date(this.wallMs + this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const apiError = (code: number, reason: string) => Object.assign(new Error(reason), { code, body: JSON.stringify({ reason }) });

/** One namespace's Leases as the API server keeps them. */
class LeaseServer implements LeaseApi {
  readonly objects = new Map<string, V1Lease>();
  readonly calls: string[] = [];
  private rv = 100;
  /** Calls that fail with a network error before reaching the store, by verb. */
  down = false;

  private check(verb: string): void {
    this.calls.push(verb);
    if (this.down) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
  }
  private stamp(l: V1Lease): V1Lease {
    const o = JSON.parse(JSON.stringify(l)) as V1Lease;
    o.metadata = { ...o.metadata, resourceVersion: String(++this.rv) };
    this.objects.set(o.metadata.name ?? '', o);
    return JSON.parse(JSON.stringify(o)) as V1Lease;
  }
  async getLease(_ns: string, name: string): Promise<V1Lease | undefined> {
    this.check('get');
    const o = this.objects.get(name);
    return o ? (JSON.parse(JSON.stringify(o)) as V1Lease) : undefined;
  }
  async createLease(_ns: string, lease: V1Lease): Promise<V1Lease> {
    this.check('create');
    if (this.objects.has(lease.metadata?.name ?? '')) throw apiError(409, 'AlreadyExists');
    return this.stamp(lease);
  }
  async replaceLease(_ns: string, name: string, lease: V1Lease): Promise<V1Lease> {
    this.check('replace');
    const cur = this.objects.get(name);
    if (!cur) throw apiError(404, 'NotFound');
    if (lease.metadata?.resourceVersion !== cur.metadata?.resourceVersion) throw apiError(409, 'Conflict');
    return this.stamp(lease);
  }
  holder(name = 'l'): string | undefined {
    const o = this.objects.get(name);
    return o ? (leaseRecordOf(o).holder ?? '') : undefined;
  }
}

const D = 2000;
const attempt = { timeoutMs: () => 1000 };
function store(server: LeaseServer, identity: string, clock: Clock, name = 'l'): LeaseStore {
  return new LeaseStore({ api: server, namespace: 'ns', name, identity, durationMs: D, clock, labels: { a: 'b' } });
}

test('no Lease yet: the first candidate creates it; a second one sees it held until a duration after it saw it', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  const b = store(server, 'b', clock);
  assert.deepEqual(await a.tryAcquireOrRenew(attempt), { kind: 'held', sentAt: 1000, acquired: true });
  assert.deepEqual(server.calls, ['get', 'create']);
  assert.equal(server.objects.get('l')?.metadata?.labels?.a, 'b');
  clock.advance(300);
  assert.deepEqual(await b.tryAcquireOrRenew(attempt), { kind: 'heldByOther', holder: 'a', until: 1300 + D });
  assert.equal(b.holder, 'a');
});

test('the holder renews from its own last write: one PUT per round, no GET', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  await a.tryAcquireOrRenew(attempt);
  server.calls.length = 0;
  for (let i = 0; i < 3; i++) {
    clock.advance(500);
    const out = await a.tryAcquireOrRenew(attempt);
    assert.deepEqual(out, { kind: 'held', sentAt: clock.t, acquired: false });
  }
  assert.deepEqual(server.calls, ['replace', 'replace', 'replace']);
  assert.equal(leaseRecordOf(server.objects.get('l')!).transitions, 0);
});

test('expiry is judged from when a candidate saw the record change, whatever renewTime the holder wrote', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  const b = store(server, 'b', clock);
  await a.tryAcquireOrRenew(attempt);
  // The holder's clock is an hour ahead: its renewTime says "fresh" long after it stopped.
  const o = server.objects.get('l')!;
  o.spec = { ...o.spec, renewTime: '2099-01-01T00:00:00.000000Z' as never };
  clock.advance(1500); // b first looks 1.5 s after a's write: its own clock starts now
  assert.equal((await b.tryAcquireOrRenew(attempt)).kind, 'heldByOther');
  clock.advance(D - 1); // unchanged, but not yet a whole duration since b saw it
  assert.equal((await b.tryAcquireOrRenew(attempt)).kind, 'heldByOther');
  clock.advance(1);
  assert.deepEqual(await b.tryAcquireOrRenew(attempt), { kind: 'held', sentAt: clock.t, acquired: true });
  const rec = leaseRecordOf(server.objects.get('l')!);
  assert.equal(rec.holder, 'b');
  assert.equal(rec.transitions, 1);
});

test('a renewal seen in between pushes the candidate\'s deadline forward', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  const b = store(server, 'b', clock);
  await a.tryAcquireOrRenew(attempt);
  await b.tryAcquireOrRenew(attempt); // sees a at t=1000
  clock.advance(1900);
  await a.tryAcquireOrRenew(attempt); // a renews at 2900
  clock.advance(200); // 3100: past 1000 + D, but b has not seen the renewal yet
  const out = await b.tryAcquireOrRenew(attempt); // the read shows the renewal: deadline 3100 + D
  assert.deepEqual(out, { kind: 'heldByOther', holder: 'a', until: 3100 + D });
});

test('two candidates racing for an expired Lease: the second PUT gets 409 and loses', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const old = store(server, 'old', clock);
  await old.tryAcquireOrRenew(attempt);
  const b = store(server, 'b', clock);
  const c = store(server, 'c', clock);
  await b.tryAcquireOrRenew(attempt);
  await c.tryAcquireOrRenew(attempt);
  clock.advance(D);
  // Both read the same expired record, then both write with its resourceVersion.
  const [ob, oc] = await Promise.all([b.tryAcquireOrRenew(attempt), c.tryAcquireOrRenew(attempt)]);
  const kinds = [ob.kind, oc.kind].sort();
  assert.deepEqual(kinds, ['held', 'lost']);
  assert.equal(server.holder(), ob.kind === 'held' ? 'b' : 'c');
});

test('a holder whose renewal gets 409 reads, and learns that someone else holds the Lease now', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  await a.tryAcquireOrRenew(attempt);
  // Someone took over behind a's back (e.g. a was partitioned for longer than the duration).
  const o = server.objects.get('l')!;
  server.objects.set('l', { ...o, spec: { ...o.spec, holderIdentity: 'x' }, metadata: { ...o.metadata, resourceVersion: '999' } });
  server.calls.length = 0;
  clock.advance(500);
  assert.deepEqual(await a.tryAcquireOrRenew(attempt), { kind: 'heldByOther', holder: 'x', until: clock.t + D });
  assert.deepEqual(server.calls, ['replace', 'get']);
  // Next round it does not try the renew shortcut again.
  server.calls.length = 0;
  clock.advance(500);
  await a.tryAcquireOrRenew(attempt);
  assert.deepEqual(server.calls, ['get']);
});

test('API unreachable: errors say which step failed, the holder keeps renewing from its write when it returns', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  await a.tryAcquireOrRenew(attempt);
  server.down = true;
  clock.advance(500);
  const out = await a.tryAcquireOrRenew(attempt);
  assert.equal(out.kind, 'error');
  assert.equal(out.kind === 'error' && out.during, 'renew');
  const b = store(server, 'b', clock);
  const ob = await b.tryAcquireOrRenew(attempt);
  assert.equal(ob.kind === 'error' && ob.during, 'read');
  server.down = false;
  server.calls.length = 0;
  clock.advance(500);
  assert.deepEqual(await a.tryAcquireOrRenew(attempt), { kind: 'held', sentAt: clock.t, acquired: false });
  assert.deepEqual(server.calls, ['replace']);
});

test('release clears the holder and a waiting candidate acquires at once, without waiting out the duration', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  const b = store(server, 'b', clock);
  await a.tryAcquireOrRenew(attempt);
  await b.tryAcquireOrRenew(attempt);
  clock.advance(100);
  assert.deepEqual(await a.release(1000), { released: true });
  assert.equal(server.holder(), '');
  assert.equal(leaseRecordOf(server.objects.get('l')!).leaseDurationSeconds, 1);
  clock.advance(1); // far inside the duration b would otherwise wait
  assert.deepEqual(await b.tryAcquireOrRenew(attempt), { kind: 'held', sentAt: clock.t, acquired: true });
  // A store that does not hold the Lease writes nothing on release.
  server.calls.length = 0;
  assert.deepEqual(await a.release(1000), { released: false });
  assert.deepEqual(server.calls, []);
});

test('release after someone else wrote: 409, not released, reported', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  await a.tryAcquireOrRenew(attempt);
  const o = server.objects.get('l')!;
  server.objects.set('l', { ...o, metadata: { ...o.metadata, resourceVersion: '999' } });
  const r = await a.release(1000);
  assert.equal(r.released, false);
  assert.match(r.error ?? '', /conflict/);
});

test('annotations are computed from the object the write is based on, and kept on create', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  const a = store(server, 'a', clock);
  const bases: Array<string | undefined> = [];
  const annotations = (base: V1Lease | undefined) => {
    bases.push(base?.metadata?.resourceVersion);
    return { ...(base?.metadata?.annotations ?? {}), fact: String(bases.length) };
  };
  await a.tryAcquireOrRenew({ ...attempt, annotations });
  clock.advance(500);
  await a.tryAcquireOrRenew({ ...attempt, annotations });
  assert.deepEqual(bases, [undefined, '101']);
  assert.equal(server.objects.get('l')?.metadata?.annotations?.fact, '2');
});

test('a Lease we held before a restart (same identity) is renewed, not re-acquired', async () => {
  const server = new LeaseServer();
  const clock = new ScriptedClock();
  await store(server, 'a', clock).tryAcquireOrRenew(attempt);
  clock.advance(300);
  const again = store(server, 'a', clock); // a new process, same node
  assert.deepEqual(await again.tryAcquireOrRenew(attempt), { kind: 'held', sentAt: clock.t, acquired: false });
  assert.equal(leaseRecordOf(server.objects.get('l')!).transitions, 0);
});
