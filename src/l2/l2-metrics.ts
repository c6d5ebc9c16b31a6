// Metrics publishing for the Layer 2 announcer: the metric families, and moving the responders'
// plain-number counters into the registry when /metrics is scraped (the packet path never touches
// the registry). Series of a released address or a closed NIC are removed here too.
import { Registry, type Counter, type Gauge } from '../observe/metrics.ts';
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

// A type, not an interface, so it is assignable to the registry's string-indexed label sets.
export type AddressLabels = { ip: string; nic: string };

/** What the registry has already seen of one NIC responder's counters. */
export interface NicPublished {
  malformed: Map<RejectReason, number>;
  sendFailures: number;
}

export function newNicPublished(): NicPublished {
  return { malformed: new Map(), sendFailures: 0 };
}

export class L2Metrics {
  readonly #requests: Counter;
  readonly #responses: Counter;
  readonly #gratuitous: Counter;
  readonly #conflicts: Counter;
  readonly #probesSeen: Counter;
  readonly #malformed: Counter;
  readonly #sendFailures: Counter;
  readonly #state: Gauge;

  constructor(r: Registry) {
    this.#requests = r.counter(L2_METRICS.requests, 'ARP requests and Neighbor Solicitations received for an owned address');
    this.#responses = r.counter(L2_METRICS.responses, 'ARP replies and Neighbor Advertisements sent for an owned address');
    this.#gratuitous = r.counter(L2_METRICS.gratuitous, 'Gratuitous ARP / unsolicited NA frames sent (takeover burst and refresh)');
    this.#conflicts = r.counter(L2_METRICS.conflicts, 'Another MAC claimed an address (phase=probe: before announcing; announced: while we answer)');
    this.#probesSeen = r.counter(L2_METRICS.probesSeen, 'ARP probes / DAD solicitations from other hosts for an address we answer (answered to defend it)');
    this.#malformed = r.counter(L2_METRICS.malformed, 'Frames dropped because they failed validation, by NIC and reason');
    this.#sendFailures = r.counter(L2_METRICS.sendFailures, 'Frames the kernel refused to send (queue full, NIC down)');
    this.#state = r.gauge(L2_METRICS.state, '1 for the current announce state of an address (probing, announcing, conflict, error)');
  }

  /** Adds what an address's responder counted since the last publish. */
  publishAddress(labels: AddressLabels, c: AddressCounts, p: AddressCounts): void {
    if (c.requests !== p.requests) this.#requests.inc(labels, c.requests - p.requests);
    if (c.responses !== p.responses) this.#responses.inc(labels, c.responses - p.responses);
    if (c.probes !== p.probes) this.#probesSeen.inc(labels, c.probes - p.probes);
    if (c.gratuitous !== p.gratuitous) this.#gratuitous.inc(labels, c.gratuitous - p.gratuitous);
    p.requests = c.requests;
    p.responses = c.responses;
    p.probes = c.probes;
    p.gratuitous = c.gratuitous;
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

  conflict(labels: AddressLabels, phase: 'probe' | 'announced'): void {
    this.#conflicts.inc({ ...labels, phase });
  }

  /** Moves the address's state gauge from `from` (null: none yet) to `to`. */
  state(labels: AddressLabels, from: AnnounceState | null, to: AnnounceState): void {
    if (from !== null) this.#state.remove({ ...labels, state: from });
    this.#state.set({ ...labels, state: to }, 1);
  }

  /** Removes every series of a released address. */
  removeAddress(ip: string): void {
    for (const m of [this.#requests, this.#responses, this.#gratuitous, this.#conflicts, this.#probesSeen, this.#state]) m.removeMatching({ ip });
  }

  /** Removes the per-NIC series of a NIC no longer in use. */
  removeNic(nic: string): void {
    this.#malformed.removeMatching({ nic });
    this.#sendFailures.removeMatching({ nic });
  }
}
