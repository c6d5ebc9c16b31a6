// One Lease, held by one identity: the acquire/renew/release protocol shared by the IPAM leader
// election (lease-election.ts) and every speaker's membership Lease (membership.ts). This is
// client-go's leaderelection resource lock, thin, over the pure rules in lease-rules.ts:
//   - expiry is judged by LOCAL observation time (when we last saw the record change), never
//     by the renewTime another machine's clock wrote;
//   - a holder renews from its own last write, with a PUT carrying that write's resourceVersion
//     (no GET in steady state: one write per renewal);
//   - acquiring is a create (no Lease yet) or a PUT carrying the resourceVersion we read, so two
//     candidates cannot both win: the second gets 409 Conflict (or AlreadyExists) and has lost;
//   - release() clears the holder, so a waiting peer takes over at once instead of after a
//     lease duration.
// What to DO with the outcome (step down, schedule the next try, warn) is the caller's: the
// election and the membership want different things. The clock is injected so the protocol is
// unit-tested with scripted timelines (test/unit/kube/lease-store.test.ts).
import type { V1Lease } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { describeError, isAlreadyExists, isConflict, isNotFound } from './errors.ts';
import { leaseForCreate, leaseForUpdate, leaseRecordOf } from './lease-object.ts';
import { type Observation, decideLease, observe, releaseLease } from './lease-rules.ts';

/** Monotonic ms for judging expiry; wall time for the timestamps written into the Lease. */
export interface Clock {
  now(): number;
  wall(): Date;
}

export const systemClock: Clock = { now: () => performance.now(), wall: () => new Date() };

/** The Lease calls the store makes. Errors are API errors as errors.ts classifies them. */
export interface LeaseApi {
  /** The Lease, or undefined when it does not exist (404). */
  getLease(namespace: string, name: string, timeoutMs: number): Promise<V1Lease | undefined>;
  createLease(namespace: string, lease: V1Lease, timeoutMs: number): Promise<V1Lease>;
  /** PUT; the body's metadata.resourceVersion is the precondition (409 when stale). */
  replaceLease(namespace: string, name: string, lease: V1Lease, timeoutMs: number): Promise<V1Lease>;
}

export interface LeaseStoreOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  /** Who we are (holderIdentity). */
  identity: string;
  /** How long a Lease stays valid without renewal (ours written, others' judged). */
  durationMs: number;
  /** Labels set when we create the Lease. */
  labels?: Record<string, string>;
  clock?: Clock;
}

/** Per attempt: the request deadline (asked before each request) and the annotations to write. */
export interface AttemptOptions {
  timeoutMs: () => number;
  /** Annotations for the written object, from the object we base the write on (undefined = keep). */
  annotations?: (base: V1Lease | undefined) => Record<string, string>;
}

export type LeaseOutcome =
  /** We hold the Lease: a write sent at `sentAt` (clock.now()) succeeded. */
  | { kind: 'held'; sentAt: number; acquired: boolean }
  /** Someone else holds it and it has not expired by our observation. */
  | { kind: 'heldByOther'; holder: string; until: number }
  /** We tried to write and someone else wrote first (409). */
  | { kind: 'lost' }
  /** The API did not answer usefully; nothing is known to have changed. */
  | { kind: 'error'; error: unknown; during: 'renew' | 'read' | 'write' };

export class LeaseStore {
  readonly name: string;
  private readonly o: LeaseStoreOptions;
  private readonly clock: Clock;
  /** The Lease as last read or written (base for PUTs). */
  private lease: V1Lease | undefined;
  private obs: Observation | undefined;
  /** True after our write succeeded, until a read or a 409 shows otherwise, or release. */
  private ours = false;

  constructor(opts: LeaseStoreOptions) {
    this.o = opts;
    this.name = opts.name;
    this.clock = opts.clock ?? systemClock;
  }

  /** The Lease object as last read or written (undefined before the first success). */
  get object(): V1Lease | undefined {
    return this.lease;
  }

  /** The holder last observed ('' = released; undefined = not read yet or no Lease). */
  get holder(): string | undefined {
    return this.obs?.record.holder ?? (this.obs ? '' : undefined);
  }

  /**
   * One round of client-go's tryAcquireOrRenew. While we hold the Lease: PUT from our own last
   * write. Otherwise, or after a 409: GET, observe, decide, and create/PUT if the Lease is free,
   * expired by our observation, or ours.
   */
  async tryAcquireOrRenew(a: AttemptOptions): Promise<LeaseOutcome> {
    const { api, namespace: ns, name, identity: me, durationMs } = this.o;

    if (this.ours && this.lease && this.obs) {
      const action = decideLease(me, this.obs, this.clock.now(), durationMs, this.clock.wall());
      if (action.kind === 'renew') {
        const sentAt = this.clock.now();
        try {
          const body = leaseForUpdate(this.lease, action.next, a.annotations?.(this.lease));
          const written = await api.replaceLease(ns, name, body, a.timeoutMs());
          this.wrote(written);
          return { kind: 'held', sentAt, acquired: false };
        } catch (err) {
          if (!isConflict(err)) return { kind: 'error', error: err, during: 'renew' };
          // Someone else wrote: read below and find out who.
          this.ours = false;
        }
      }
    }

    let lease: V1Lease | undefined;
    try {
      lease = await api.getLease(ns, name, a.timeoutMs());
    } catch (err) {
      if (!isNotFound(err)) return { kind: 'error', error: err, during: 'read' };
    }
    const now = this.clock.now();
    this.lease = lease;
    this.obs = lease ? observe(this.obs, leaseRecordOf(lease), now) : undefined;

    const action = decideLease(me, this.obs, now, durationMs, this.clock.wall());
    if (action.kind === 'wait') {
      this.ours = false;
      return { kind: 'heldByOther', holder: action.holder, until: action.until };
    }
    if (action.kind === 'release') return { kind: 'error', error: new Error('decideLease said release'), during: 'read' };
    const wasOurs = this.obs?.record.holder === me;
    const sentAt = this.clock.now();
    try {
      const written = lease
        ? await api.replaceLease(ns, name, leaseForUpdate(lease, action.next, a.annotations?.(lease)), a.timeoutMs())
        : await api.createLease(
            ns,
            leaseForCreate(ns, name, action.next, this.o.labels, a.annotations?.(undefined)),
            a.timeoutMs(),
          );
      this.wrote(written);
      return { kind: 'held', sentAt, acquired: !wasOurs };
    } catch (err) {
      this.ours = false;
      if (isConflict(err) || isAlreadyExists(err)) return { kind: 'lost' };
      return { kind: 'error', error: err, during: 'write' };
    }
  }

  /**
   * Clear the holder if we hold it (client-go's ReleaseOnCancel), so peers take over at once.
   * Resolves true when released; false when it was not ours, or the write failed (then peers
   * take over after the lease duration). `error` carries the failure for the caller's log.
   */
  async release(timeoutMs: number): Promise<{ released: boolean; error?: string }> {
    const rel = releaseLease(this.o.identity, this.obs, this.clock.wall());
    this.ours = false;
    if (!rel || rel.kind !== 'release' || !this.lease) return { released: false };
    try {
      const written = await this.o.api.replaceLease(this.o.namespace, this.o.name, leaseForUpdate(this.lease, rel.next), timeoutMs);
      this.lease = written;
      this.obs = { record: leaseRecordOf(written), observedAt: this.clock.now() };
      return { released: true };
    } catch (err) {
      // A 409 means someone wrote since our last renewal: then it is not ours to release anyway.
      return { released: false, error: describeError(err) };
    }
  }

  private wrote(written: V1Lease): void {
    this.lease = written;
    this.obs = { record: leaseRecordOf(written), observedAt: this.clock.now() };
    this.ours = true;
  }
}
