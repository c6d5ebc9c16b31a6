// What the speaker says when another host claims an IP it announces (or was about to): a log line
// and a Warning Event (IPConflict) on every Service that has the IP.
import type { EventRecorder } from '../kube/events.ts';
import { targetOf } from '../kube/events.ts';
import type { Conflict } from '../l2/announcer.ts';
import { log } from '../log.ts';
import type { ServiceView } from './layer2-inputs.ts';
import { EVENT_IP_CONFLICT } from './layer2-plan.ts';

export interface ConflictReporterOptions {
  nodeName: string;
  events: EventRecorder;
  /** Services that have the IP now (from the last reconcile). */
  servicesOf: (ip: string) => readonly ServiceView[];
}

export function conflictMessage(c: Conflict, node: string): string {
  return c.phase === 'probe'
    ? `another host (MAC ${c.mac}) answers for ${c.ip} on the network of NIC ${c.nic} of node ${node}; not announcing it; find and remove the other host's address`
    : `another host (MAC ${c.mac}) claims ${c.ip}, which node ${node} announces on NIC ${c.nic}; clients may reach either host; find and remove the other host's address`;
}

export class ConflictReporter {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: ConflictReporterOptions) {}

  report(c: Conflict): void {
    const message = conflictMessage(c, this.o.nodeName);
    log.warn('layer2: address conflict', { ...c, node: this.o.nodeName });
    for (const s of this.o.servicesOf(c.ip)) {
      const target = targetOf(
        { kind: 'Service', apiVersion: 'v1', metadata: { name: s.name, namespace: s.namespace, ...(s.uid ? { uid: s.uid } : {}) } },
        { kind: 'Service', apiVersion: 'v1' },
      );
      this.track(this.o.events.warning(target, EVENT_IP_CONFLICT, message, `${EVENT_IP_CONFLICT}/${c.ip}`));
    }
  }

  /** Resolves when every Event write started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
