// What the Kubernetes side of BGP needs from the protocol layer's speaker (src/bgp/speaker.ts):
// the shapes it is configured with and reports in, and the calls the controller makes. The plan
// and the controller depend on this contract, not on the speaker's implementation.
import type { PeerConfig, PeerStatus, RouteSpec } from '../bgp/speaker.ts';

export type { ListenConfig, MessageCounts, PeerConfig, PeerStatus, RouteSpec } from '../bgp/speaker.ts';
export type BgpFamily = PeerConfig['families'][number];

/** The calls the controller makes on a speaker (BgpSpeaker implements it). */
export interface BgpSpeakerLike {
  setPeers(peers: PeerConfig[]): void;
  setRoutes(routes: RouteSpec[]): void;
  status(): PeerStatus[];
  onChange(cb: (s: PeerStatus) => void): void;
  close(opts?: { withdraw?: boolean }): Promise<void>;
  /** Problems binding the listen addresses (empty when all are listening). */
  listenErrors?(): string[];
  /** Resolves once every listen address is bound or has failed. */
  readonly ready?: Promise<void>;
}
