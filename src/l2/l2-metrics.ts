// Metrics publishing for the Layer 2 announcer: the metric families, and moving the responders'
// plain-number counters into the registry when /metrics is scraped (the packet path never touches
// the registry). The per-address series are read from the announcer's records at each scrape;
// the per-NIC series are stored, and removed here when their NIC closes.
import { Registry, type Counter } from '../observe/metrics.ts';
import type { AnnounceState } from './address-state.ts';
import type { AddressCounts } from './responder.ts';
import type { RejectReason } from './result.ts';

/** Metric names, for docs and tests. */
export const L2_METRICS = {
  requests: 'openelb_l2_requests_received_total',
  responses: 'openelb_l2_responses_sent_total',
  gratuitous: 'openelb_l2_gratuitous_sent_total',
  conflicts: 'openelb_l2_conflicts_total',
  probesSeen: 'openelb_l2_probes_received_total',
  malformed: 'openelb_l2_malformed_frames_total',
  sendFailures: 'openelb_l2_send_failures_total',
  state: 'openelb_l2_address_state',
} as const;

/**
 * What the metrics read of one announced address at a scrape: the announcer's own record of it.
 * The per-address series are not stored in the registry but read from these records when
 * /metrics is scraped, so an address costs the registry nothing between scrapes (a stored series
 * per metric per address was about a third of an address's heap) and a released address's series
 * are gone as soon as its record is.
 */
export interface AddressView {
  ip: string;
  nic: string;
  /** null: not started yet (no state series). */
  state: AnnounceState | null;
  counts: AddressCounts;
  conflictsProbe: number;
  conflictsAnnounced: number;
}

/** What the registry has already seen of one NIC responder's counters. */
export interface NicPublished {
  malformed: Map<RejectReason, number>;
  sendFailures: number;
}

export function newNicPublished(): NicPublished {
  return { malformed: new Map(), sendFailures: 0 };
}

type Series = readonly [Record<string, string>, number];

/** One counter series per address whose count is above zero (a stored counter appeared on its first increment too). */
function* counter(addresses: () => Iterable<AddressView>, count: (a: AddressView) => number): Generator<Series> {
  for (const a of addresses()) {
    const n = count(a);
    if (n > 0) yield [{ ip: a.ip, nic: a.nic }, n];
  }
}

function* conflicts(addresses: () => Iterable<AddressView>): Generator<Series> {
  for (const a of addresses()) {
    if (a.conflictsProbe > 0) yield [{ ip: a.ip, nic: a.nic, phase: 'probe' }, a.conflictsProbe];
    if (a.conflictsAnnounced > 0) yield [{ ip: a.ip, nic: a.nic, phase: 'announced' }, a.conflictsAnnounced];
  }
}

function* states(addresses: () => Iterable<AddressView>): Generator<Series> {
  for (const a of addresses()) if (a.state !== null) yield [{ ip: a.ip, nic: a.nic, state: a.state }, 1];
}

export class L2Metrics {
  readonly #malformed: Counter;
  readonly #sendFailures: Counter;
  readonly #unregister: Array<() => void>;

  /** `addresses`: the announcer's records, read at each scrape. */
  constructor(r: Registry, addresses: () => Iterable<AddressView>) {
    this.#malformed = r.counter(L2_METRICS.malformed, 'Frames dropped because they failed validation, by NIC and reason');
    this.#sendFailures = r.counter(L2_METRICS.sendFailures, 'Frames the kernel refused to send (queue full, NIC down)');
    this.#unregister = [
      r.collected(L2_METRICS.requests, 'ARP requests and Neighbor Solicitations received for an owned address', 'counter', () => counter(addresses, (a) => a.counts.requests)),
      r.collected(L2_METRICS.responses, 'ARP replies and Neighbor Advertisements sent for an owned address', 'counter', () => counter(addresses, (a) => a.counts.responses)),
      r.collected(L2_METRICS.gratuitous, 'Gratuitous ARP / unsolicited NA frames sent (takeover burst and refresh)', 'counter', () => counter(addresses, (a) => a.counts.gratuitous)),
      r.collected(L2_METRICS.conflicts, 'Another MAC claimed an address (phase=probe: before announcing; announced: while we answer)', 'counter', () => conflicts(addresses)),
      r.collected(L2_METRICS.probesSeen, 'ARP probes / DAD solicitations from other hosts for an address we answer (answered to defend it)', 'counter', () => counter(addresses, (a) => a.counts.probes)),
      r.collected(L2_METRICS.state, '1 for the current announce state of an address (probing, announcing, conflict, error)', 'gauge', () => states(addresses)),
    ];
  }

  /** Adds what a NIC's responder counted (malformed frames by reason, send failures) since the last publish. */
  publishNic(nic: string, malformed: ReadonlyMap<RejectReason, number>, sendFailures: number, p: NicPublished): void {
    for (const [reason, n] of malformed) {
      const before = p.malformed.get(reason) ?? 0;
      if (n !== before) this.#malformed.inc({ nic, reason }, n - before);
      p.malformed.set(reason, n);
    }
    if (sendFailures !== p.sendFailures) this.#sendFailures.inc({ nic }, sendFailures - p.sendFailures);
    p.sendFailures = sendFailures;
  }

  /** Removes the per-NIC series of a NIC no longer in use. */
  removeNic(nic: string): void {
    this.#malformed.removeMatching({ nic });
    this.#sendFailures.removeMatching({ nic });
  }

  /** Stops publishing the per-address series (the announcer closed). */
  close(): void {
    for (const u of this.#unregister) u();
  }
}
