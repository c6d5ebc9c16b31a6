// Leader election over one named Lease (SPEC §2 "Lease-based control": one writer for IPAM).
// client-node has none, so this is client-go's leaderelection loop, thin, on top of the shared
// LeaseStore (lease-store.ts, which applies the pure rules in lease-rules.ts):
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
import { log } from '../log.ts';
import type { KubeClient } from './client.ts';
import { classifyError, describeError } from './errors.ts';
import { type Clock, type LeaseApi, LeaseStore, systemClock } from './lease-store.ts';

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
  /** The Lease calls, and the default request deadline for candidates. */
  client: LeaseApi & Pick<KubeClient, 'requestTimeoutMs'>;
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
  /** Injected for tests; the system's monotonic and wall clocks by default. */
  clock?: Clock;
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
  private readonly store: LeaseStore;
  private readonly clock: Clock;
  private leading = false;
  private term: AbortController | undefined;
  /** clock.now() when the last successful acquire/renew request was sent. */
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
    this.clock = opts.clock ?? systemClock;
    this.store = new LeaseStore({
      api: opts.client,
      namespace: opts.namespace,
      name: opts.name,
      identity: opts.identity,
      durationMs: this.timings.leaseDurationMs,
      clock: this.clock,
      ...(opts.labels ? { labels: opts.labels } : {}),
    });
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
    const r = await this.store.release(this.timings.renewDeadlineMs);
    if (r.released) log.info('lease released', { lease: this.o.name, identity: this.o.identity });
    else if (r.error) {
      log.warn('lease release failed; peers will take over after the lease duration', { lease: this.o.name, error: r.error });
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
      if (this.leading && this.clock.now() - this.lastRenewSentAt > this.timings.renewDeadlineMs) {
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
    return Math.max(1, this.lastRenewSentAt + this.timings.renewDeadlineMs - this.clock.now());
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const out = await this.store.tryAcquireOrRenew({ timeoutMs: () => this.requestDeadline() });
    switch (out.kind) {
      case 'held':
        this.lastRenewSentAt = out.sentAt;
        this.noteHolder(this.o.identity);
        this.startLeading();
        return;
      case 'heldByOther':
        this.noteHolder(out.holder);
        if (this.leading) this.stepDown(`lease now held by ${out.holder || 'nobody'}`);
        return;
      case 'lost':
        if (this.store.holder !== undefined) this.noteHolder(this.store.holder);
        // Another candidate wrote between our read and our write: it won this round.
        log.debug('lease write lost a race', { lease: this.o.name });
        if (this.leading) this.stepDown('lost the lease (409)');
        return;
      case 'error':
        // Retry next period; a leader steps down once its renew deadline passes (loop()).
        if (out.during === 'read') {
          log.debug('lease read failed', { lease: this.o.name, kind: classifyError(out.error), error: describeError(out.error) });
        } else {
          log.warn(out.during === 'renew' ? 'lease renew failed' : 'lease write failed', {
            lease: this.o.name,
            error: describeError(out.error),
          });
        }
        if (this.store.holder !== undefined) this.noteHolder(this.store.holder);
        return;
    }
  }

  private startLeading(): void {
    if (this.leading || this.stopping) return;
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
