// Leader election over one named Lease (SPEC §2 "Lease-based control": one writer for IPAM).
// client-node has none, so this is client-go's leaderelection loop, thin, on top of the pure
// rules in lease-rules.ts:
//   - candidates GET the Lease every retry period and decide; acquiring is a create (no Lease
//     yet) or a PUT carrying the resourceVersion they read, so two candidates cannot both win:
//     the second PUT gets 409 Conflict and loses;
//   - the leader renews every retry period with a PUT based on its own last write (no GET in
//     steady state: one write per period). A 409 sends it back to GET-and-decide: if someone
//     else holds the Lease now, it has lost and steps down at once;
//   - if no renewal has succeeded within the renew deadline (measured from when the last
//     successful request was SENT), the leader steps down even though it cannot reach the API:
//     observers start their expiry clock no earlier than that write landed, and renewDeadline <
//     leaseDuration, so the old leader has stopped before anyone else may start;
//   - release() clears the holder so a waiting candidate takes over on its next poll instead of
//     waiting out the lease duration.
import { performance } from 'node:perf_hooks';
import type { V1Lease } from '@kubernetes/client-node';
import { log } from '../log.ts';
import { type KubeClient, FIELD_MANAGER, deadlineOptions } from './client.ts';
import { classifyError, describeError, isAlreadyExists, isConflict, isNotFound } from './errors.ts';
import { leaseForCreate, leaseForUpdate, leaseRecordOf } from './lease-object.ts';
import { type Observation, decideLease, observe, releaseLease } from './lease-rules.ts';

export interface ElectionTimings {
  /** How long a Lease stays valid without renewal, judged by observers' local clocks. */
  leaseDurationMs: number;
  /** The leader steps down if it has not renewed successfully for this long. < leaseDurationMs. */
  renewDeadlineMs: number;
  /** Period between attempts (renewals, and candidates' polls). */
  retryPeriodMs: number;
}

export const defaultElectionTimings: ElectionTimings = {
  leaseDurationMs: 4000,
  renewDeadlineMs: 3000,
  retryPeriodMs: 500,
};

// Like client-go's JitterFactor: the deadline must leave room for at least one retry with jitter.
const JITTER = 1.2;

/** Problems with a set of timings, empty when valid. Pure (unit-tested); the constructor throws on any. */
export function electionTimingProblems(t: ElectionTimings): string[] {
  const p: string[] = [];
  const finite = (n: number) => Number.isFinite(n) && n > 0;
  if (!finite(t.leaseDurationMs)) p.push('lease duration must be a positive number of ms');
  if (!finite(t.renewDeadlineMs)) p.push('renew deadline must be a positive number of ms');
  if (!finite(t.retryPeriodMs)) p.push('retry period must be a positive number of ms');
  if (p.length) return p;
  if (t.retryPeriodMs < 10) p.push(`retry period ${t.retryPeriodMs} ms is below 10 ms`);
  if (t.leaseDurationMs > 3_600_000) p.push(`lease duration ${t.leaseDurationMs} ms is over 1 h`);
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    p.push(`lease duration (${t.leaseDurationMs} ms) must be greater than renew deadline (${t.renewDeadlineMs} ms)`);
  }
  if (t.renewDeadlineMs <= JITTER * t.retryPeriodMs) {
    p.push(`renew deadline (${t.renewDeadlineMs} ms) must be greater than ${JITTER} x retry period (${t.retryPeriodMs} ms)`);
  }
  return p;
}

export interface LeaseElectionOptions extends Partial<ElectionTimings> {
  client: KubeClient;
  namespace: string;
  /** Lease name, e.g. `openelb-ipam`. */
  name: string;
  /** This candidate: the node name. */
  identity: string;
  /** Labels set when the Lease is created. */
  labels?: Record<string, string>;
  /** We became leader. `signal` aborts when we stop being leader: stop writing then. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** We stopped being leader (lost, renew deadline passed, or released). */
  onStoppedLeading: () => void;
  /** The observed holder changed ('' = nobody). */
  onNewLeader?: (holder: string) => void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class LeaseElection {
  readonly timings: ElectionTimings;
  private readonly o: LeaseElectionOptions;
  private obs: Observation | undefined;
  /** The Lease as last read or written (base for PUTs). */
  private lease: V1Lease | undefined;
  private leading = false;
  private term: AbortController | undefined;
  /** performance.now() when the last successful acquire/renew request was sent. */
  private lastRenewSentAt = 0;
  private observedHolder: string | undefined;
  private stopping = false;
  private readonly wake = new AbortController();
  private loopDone: Promise<void> | undefined;

  constructor(opts: LeaseElectionOptions) {
    this.o = opts;
    this.timings = {
      leaseDurationMs: opts.leaseDurationMs ?? defaultElectionTimings.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? defaultElectionTimings.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? defaultElectionTimings.retryPeriodMs,
    };
    const problems = electionTimingProblems(this.timings);
    if (problems.length) throw new Error(`lease election ${opts.name}: ${problems.join('; ')}`);
  }

  /** Start campaigning. Idempotent. */
  start(): void {
    if (this.loopDone || this.stopping) return;
    this.loopDone = this.loop();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Last observed holder ('' = released/none, undefined = not read yet). */
  get leader(): string | undefined {
    return this.observedHolder;
  }

  /**
   * Graceful stop: stop campaigning; if leading, step down (abort the term, onStoppedLeading) and
   * then clear the holder on the Lease so a peer takes over at once. Never throws.
   */
  async release(): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wake.abort();
    await this.loopDone;
    if (!this.leading) return;
    // Stop acting as leader before the peer can start: callbacks first, then the write.
    this.stepDown('released');
    const rel = releaseLease(this.o.identity, this.obs, new Date());
    if (!rel || rel.kind !== 'release' || !this.lease) return;
    try {
      await this.o.client.coordination.replaceNamespacedLease(
        {
          namespace: this.o.namespace,
          name: this.o.name,
          body: leaseForUpdate(this.lease, rel.next),
          fieldManager: FIELD_MANAGER,
        },
        deadlineOptions(this.timings.renewDeadlineMs),
      );
      log.info('lease released', { lease: this.o.name, identity: this.o.identity });
    } catch (err) {
      // A 409 means someone wrote since our last renew: then it is not ours to release anyway.
      log.warn('lease release failed; peers will take over after the lease duration', {
        lease: this.o.name,
        error: describeError(err),
      });
    }
  }

  /** Stop without releasing (tests: simulate a crash). */
  async abandon(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.loopDone;
    if (this.leading) this.stepDown('abandoned');
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.tryAcquireOrRenew();
      } catch (err) {
        // tryAcquireOrRenew handles API errors; anything else is a bug, but the loop must live.
        log.error('lease election iteration failed', { lease: this.o.name, error: describeError(err) });
      }
      if (this.leading && performance.now() - this.lastRenewSentAt > this.timings.renewDeadlineMs) {
        this.stepDown('renew deadline passed');
      }
      if (this.stopping) break;
      // Candidates jitter their polls so N speakers do not hit the API in lockstep; the leader
      // renews on a steady beat.
      const wait = this.leading
        ? this.timings.retryPeriodMs
        : this.timings.retryPeriodMs * (1 + Math.random() * (JITTER - 1));
      await sleep(wait, this.wake.signal);
    }
  }

  /** Request deadline: a leader's request must not outlive its renew deadline. */
  private requestDeadline(): number {
    if (!this.leading) return Math.min(this.o.client.requestTimeoutMs, this.timings.leaseDurationMs);
    return Math.max(1, this.lastRenewSentAt + this.timings.renewDeadlineMs - performance.now());
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const api = this.o.client.coordination;
    const ns = this.o.namespace;
    const name = this.o.name;
    const me = this.o.identity;

    // Steady state: the leader renews from its own last write, no GET.
    if (this.leading && this.lease && this.obs) {
      const action = decideLease(me, this.obs, performance.now(), this.timings.leaseDurationMs, new Date());
      if (action.kind === 'renew') {
        const sentAt = performance.now();
        try {
          const written = await api.replaceNamespacedLease(
            { namespace: ns, name, body: leaseForUpdate(this.lease, action.next), fieldManager: FIELD_MANAGER },
            deadlineOptions(this.requestDeadline()),
          );
          this.wrote(written, sentAt);
          return;
        } catch (err) {
          if (!isConflict(err)) {
            log.warn('lease renew failed', { lease: name, error: describeError(err) });
            return; // retry next period until the renew deadline
          }
          // Someone else wrote: find out who below.
        }
      }
    }

    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ namespace: ns, name }, deadlineOptions(this.requestDeadline()));
    } catch (err) {
      if (!isNotFound(err)) {
        log.debug('lease read failed', { lease: name, kind: classifyError(err), error: describeError(err) });
        return;
      }
    }
    const now = performance.now();
    if (lease) {
      this.lease = lease;
      this.obs = observe(this.obs, leaseRecordOf(lease), now);
    } else {
      this.lease = undefined;
      this.obs = undefined;
    }
    this.noteHolder(this.obs?.record.holder ?? '');

    const action = decideLease(me, this.obs, now, this.timings.leaseDurationMs, new Date());
    if (action.kind === 'wait') {
      if (this.leading) this.stepDown(`lease now held by ${action.holder}`);
      return;
    }
    if (action.kind === 'release') return; // decideLease never says this; releaseLease does
    const sentAt = performance.now();
    try {
      const written = lease
        ? await api.replaceNamespacedLease(
            { namespace: ns, name, body: leaseForUpdate(lease, action.next), fieldManager: FIELD_MANAGER },
            deadlineOptions(this.requestDeadline()),
          )
        : await api.createNamespacedLease(
            { namespace: ns, body: leaseForCreate(ns, name, action.next, this.o.labels), fieldManager: FIELD_MANAGER },
            deadlineOptions(this.requestDeadline()),
          );
      this.wrote(written, sentAt);
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) {
        // Another candidate wrote between our read and our write: it won this round.
        log.debug('lease write lost a race', { lease: name });
        if (this.leading) this.stepDown('lost the lease (409)');
      } else {
        log.warn('lease write failed', { lease: name, error: describeError(err) });
      }
    }
  }

  private wrote(written: V1Lease, sentAt: number): void {
    this.lease = written;
    this.obs = { record: leaseRecordOf(written), observedAt: performance.now() };
    this.lastRenewSentAt = sentAt;
    this.noteHolder(this.o.identity);
    if (!this.leading && !this.stopping) {
      this.leading = true;
      this.term = new AbortController();
      log.info('became leader', { lease: this.o.name, identity: this.o.identity });
      const signal = this.term.signal;
      try {
        this.o.onStartedLeading(signal);
      } catch (err) {
        log.error('onStartedLeading threw', { lease: this.o.name, error: describeError(err) });
      }
    }
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.term?.abort(new Error(`leadership lost: ${why}`));
    this.term = undefined;
    log.info('stopped leading', { lease: this.o.name, identity: this.o.identity, why });
    try {
      this.o.onStoppedLeading();
    } catch (err) {
      log.error('onStoppedLeading threw', { lease: this.o.name, error: describeError(err) });
    }
  }

  private noteHolder(holder: string): void {
    if (holder === this.observedHolder) return;
    this.observedHolder = holder;
    try {
      this.o.onNewLeader?.(holder);
    } catch (err) {
      log.error('onNewLeader threw', { lease: this.o.name, error: describeError(err) });
    }
  }
}
