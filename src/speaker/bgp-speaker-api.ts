// What the Kubernetes side of BGP needs from the protocol layer's speaker (src/bgp/speaker.ts,
// interface 2 of the BGP plan): the shapes it is configured with and reports in, and the calls the
// controller makes. Kept in one file so the plan and the controller depend on this contract, not
// on the speaker's implementation (unit tests drive the controller with an in-memory speaker).
export type BgpFamily = 'ipv4-unicast' | 'ipv6-unicast';

export interface PeerConfig {
  /** BgpPeer metadata.name (status is keyed by it). */
  name: string;
  neighborAddress: string;
  peerAs: number;
  localAs: number;
  routerId: string;
  /** Default 179. */
  remotePort?: number;
  /** transport.passiveMode: never connect, only accept. */
  passive?: boolean;
  /** Seconds; the speaker's defaults are 90/30/120. */
  holdTime?: number;
  keepaliveInterval?: number;
  connectRetry?: number;
  /** TCP MD5 (RFC 2385). */
  authPassword?: string;
  /** undefined: TTL 1 for eBGP, 64 for iBGP. */
  ebgpMultihopTtl?: number;
  families: BgpFamily[];
  gracefulRestart?: { restartTime: number };
  adminDown?: boolean;
}

/** BgpConf listenPort/listenAddresses; port -1 = do not listen (gobgp's convention). */
export interface ListenConfig {
  port: number;
  addresses: string[];
}

export interface RouteSpec {
  /** '192.0.2.10/32' or '2001:db8::a/128'. */
  prefix: string;
}

export interface MessageCounts {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  refresh: number;
  total: number;
}

export type SessionState = 'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established';

export interface PeerStatus {
  name: string;
  neighborAddress: string;
  state: SessionState;
  /** ms epoch of the last state change. */
  since: number;
  /** ms epoch the session became established (while it is). */
  uptimeStart?: number;
  /** Seconds. */
  negotiatedHoldTime?: number;
  messages: { sent: MessageCounts; received: MessageCounts };
  lastError?: string;
  /** Prefixes currently announced to the peer. */
  announced?: number;
}

/** The calls the controller makes on a speaker. */
export interface BgpSpeakerLike {
  setPeers(peers: PeerConfig[]): void;
  setRoutes(routes: RouteSpec[]): void;
  status(): PeerStatus[];
  onChange(cb: (s: PeerStatus) => void): void;
  close(opts?: { withdraw?: boolean }): Promise<void>;
}
