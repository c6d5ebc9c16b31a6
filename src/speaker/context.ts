// What every part of the speaker daemon shares: one API client, one metrics registry, one event
// recorder and one set of informers (one watch per resource per process, whoever reads it).
import type { KubeClient } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Registry } from '../observe/metrics.ts';
import type { SharedInformers } from './informers.ts';

export interface SpeakerContext {
  client: KubeClient;
  /** The speakers' namespace: Leases (IPAM election, membership) live here. */
  namespace: string;
  /** This node; also the identity in every Lease. */
  nodeName: string;
  registry: Registry;
  events: EventRecorder;
  informers: SharedInformers;
}

/** A long-running part of the daemon. stop() must be quick: the process exits within 1 s of SIGTERM. */
export interface Controller {
  start(): Promise<void> | void;
  stop(): Promise<void>;
  /** For /readyz: caches synced and, for the packet path, sockets open. */
  ready(): { ok: boolean; detail: string };
}
