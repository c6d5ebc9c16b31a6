// The IPAM controller: every speaker stands for the `openelb-ipam` Lease in the speakers'
// namespace; the holder runs one IpamTerm (ipam-term.ts) per term of leadership, which assigns and
// releases Service IPs from Eips. State lives in the API only: each term starts from a fresh LIST
// of Services and Eips. When the Lease is lost the term's AbortSignal fires and every write stops,
// in flight too; writes are resourceVersion-guarded (see ipam-term.ts for why a stale leader
// cannot hand one IP to two Services).
//
// Every speaker, leader or not, keeps the Service/Eip/Namespace informers warm (a new leader does
// not wait for a first list) and exports the pool gauges from the Eips' status.
import { LeaseElection } from '../kube/lease-election.ts';
import type { EipObject } from '../kube/client.ts';
import { log } from '../log.ts';
import type { Controller, SpeakerContext } from './context.ts';
import { IpamTerm, type TermMetrics } from './ipam-term.ts';
import { ipamMetrics } from './ipam-writer.ts';

export const IPAM_LEASE = 'openelb-ipam';

export interface IpamControllerOptions {
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Lease name (tests). Default `openelb-ipam`. */
  leaseName?: string;
}

export function termMetrics(ctx: SpeakerContext): TermMetrics {
  const r = ctx.registry;
  return {
    ...ipamMetrics(r),
    resyncs: r.counter('openelb_ipam_rebuilds_total', 'IPAM state rebuilt from a fresh LIST, by reason (start of a leadership term, or another writer detected).'),
    pending: r.gauge('openelb_ipam_pending_services', 'Services of ours that wait for an address (leader only).'),
    poolSize: r.gauge('openelb_eip_pool_size', 'Addresses in the Eip (status.poolSize).'),
    usage: r.gauge('openelb_eip_usage', 'Distinct addresses of the Eip in use (status.usage).'),
    services: r.gauge('openelb_eip_services', 'Services holding an address of the Eip (a shared IP counts each Service).'),
  };
}

export class IpamController implements Controller {
  private readonly election: LeaseElection;
  private readonly metrics: TermMetrics;
  private readonly leader;
  private term: IpamTerm | undefined;
  private terms = 0;
  private unsubscribe: (() => void) | undefined;
  private onTerm: ((t: IpamTerm) => void) | undefined;

  constructor(readonly ctx: SpeakerContext, readonly opts: IpamControllerOptions = {}) {
    this.metrics = termMetrics(ctx);
    this.leader = ctx.registry.gauge('openelb_ipam_leader', '1 while this speaker holds the IPAM Lease and assigns Service IPs.');
    this.leader.set({}, 0);
    this.election = new LeaseElection({
      client: ctx.client,
      namespace: ctx.namespace,
      name: opts.leaseName ?? IPAM_LEASE,
      identity: ctx.nodeName,
      labels: { 'app.kubernetes.io/name': 'openelb-ts', 'app.kubernetes.io/component': 'ipam' },
      ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
      ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      onStartedLeading: (signal) => this.lead(signal),
      onStoppedLeading: () => this.follow(),
      onNewLeader: (holder) => log.info('ipam: leader observed', { lease: opts.leaseName ?? IPAM_LEASE, holder: holder || '(none)' }),
    });
  }

  start(): void {
    // Warm every cache IPAM needs, leader or not.
    this.ctx.informers.services();
    this.ctx.informers.namespaces();
    const eips = this.ctx.informers.eips();
    this.unsubscribe = eips.onEvent((ev, e) => this.poolGauges(ev, e));
    this.election.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    // Steps down first (the term's signal aborts, writes stop), then frees the Lease for a peer.
    await this.election.release();
    this.follow();
  }

  isLeader(): boolean {
    return this.election.isLeader;
  }

  ready(): { ok: boolean; detail: string } {
    const leader = this.election.leader;
    return {
      ok: true,
      detail: this.isLeader() ? 'ipam: leader' : `ipam: follower (leader ${leader === undefined ? 'unknown' : leader || 'none'})`,
    };
  }

  /** The running term, if leading (tests). */
  currentTerm(): IpamTerm | undefined {
    return this.term;
  }

  /** Calls `cb` with each new term (tests). */
  onNewTerm(cb: (t: IpamTerm) => void): void {
    this.onTerm = cb;
    if (this.term) cb(this.term);
  }

  private lead(signal: AbortSignal): void {
    this.terms++;
    this.leader.set({}, 1);
    log.info('ipam: leading; rebuilding allocations from the API', { term: this.terms, node: this.ctx.nodeName });
    const t = new IpamTerm(this.ctx, signal, this.metrics);
    this.term = t;
    signal.addEventListener('abort', () => {
      if (this.term === t) this.follow();
    }, { once: true });
    t.start();
    this.onTerm?.(t);
  }

  private follow(): void {
    this.leader.set({}, 0);
    this.term?.stop();
    this.term = undefined;
    this.metrics.pending.set({}, 0);
  }

  private poolGauges(ev: string, e: EipObject): void {
    const name = e.metadata.name;
    if (ev === 'delete') {
      this.metrics.poolSize.remove({ eip: name });
      this.metrics.usage.remove({ eip: name });
      return;
    }
    const st = e.status ?? {};
    if (typeof st.poolSize === 'number') this.metrics.poolSize.set({ eip: name }, st.poolSize);
    if (typeof st.usage === 'number') this.metrics.usage.set({ eip: name }, st.usage);
  }
}
