// What the BGP lab's routers (BIRD 2, FRR, GoBGP: scripts/kit/bgp/{bird,frr,gobgp}.ts) have in
// common: one declarative spec each router's pure config function renders, and one view of a
// session that each router's reader parses its own status output into. Tests compare routers
// through these types, never through a router's own words.

/** One BGP neighbor of a lab router. */
export interface PeerSpec {
  /** Protocol/neighbor name in the router's config (BIRD protocol name): [a-z0-9_]. */
  name: string;
  address: string;
  as: number;
  /** The neighbor's BGP port (default 179): the walkthrough's speakers listen on 17900. */
  port?: number;
  /** TCP MD5 (RFC 2385) password. */
  password?: string;
  /** Never connect, only accept. */
  passive?: boolean;
  /** Seconds; default the router's. */
  holdTime?: number;
  keepalive?: number;
  /** eBGP multihop TTL (undefined: directly connected). */
  multihop?: number;
}

export type Family = 'ipv4' | 'ipv6';

export interface RouterSpec {
  /** Router id (dotted quad), also the router's name in logs. */
  routerId: string;
  as: number;
  /** Address the router's sessions are sourced from and it listens on (default: any). */
  localAddress?: string;
  /** BGP listen port (default 179). */
  port?: number;
  peers: PeerSpec[];
  /** Address families to exchange with every peer (default ipv4 only). */
  families?: Family[];
  /**
   * Install ECMP routes (one next hop per peer announcing the prefix) into the router's kernel
   * FIB: BIRD `merge paths on` in the kernel protocol, FRR `maximum-paths`. GoBGP has no FIB.
   * Default true.
   */
  multipath?: boolean;
  /** Session timers in seconds (defaults: hold 9, keepalive 3, connect retry 1: tests want fast). */
  holdTime?: number;
  keepalive?: number;
  connectRetry?: number;
  /** Prefixes this router originates itself (router-to-router tests), e.g. '192.0.2.10/32'. */
  originate?: string[];
}

export type SessionState = 'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established';

/** One session as the router reports it. */
export interface SessionInfo {
  /** The neighbor's address. */
  peer: string;
  state: SessionState;
  /** Prefixes received and accepted from this neighbor (undefined when the router does not say). */
  prefixesReceived?: number;
  /** NOTIFICATIONs this router received / sent on this session, when the router counts them. */
  notificationsReceived?: number;
  notificationsSent?: number;
  /** The router's own text of the last error (BIRD "Last error", FRR's last NOTIFICATION or reset). */
  lastError?: string;
  /** Established sessions that went down since the router started (FRR, GoBGP count them). */
  drops?: number;
  /** When the session's current state began, in the router's own words (a soak compares it). */
  since?: string;
}

export type RouterKind = 'bird' | 'frr' | 'gobgp';

/** A running router in a network namespace. */
export interface Router {
  readonly kind: RouterKind;
  readonly spec: RouterSpec;
  /** Every session's state, as the router reports it. */
  sessions(): Promise<SessionInfo[]>;
  /**
   * The next hops the router's BGP RIB holds for prefix (every path, best or not), from the
   * router's own view (not the kernel): how GoBGP, which has no FIB, is checked.
   */
  ribNextHops(prefix: string): Promise<string[]>;
  /** The router's daemon output so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Session state words of the three routers -> RFC 4271's. */
export function normalizeState(word: string): SessionState {
  const w = word.toLowerCase().replace(/[^a-z]/g, '');
  switch (w) {
    case 'established':
      return 'established';
    case 'connect':
      return 'connect';
    case 'active':
      return 'active';
    case 'opensent':
      return 'opensent';
    case 'openconfirm':
      return 'openconfirm';
    default:
      // BIRD's "Idle"/"Down"/"Start", FRR's "Idle (Admin)", GoBGP's "idle" and anything unknown.
      return 'idle';
  }
}

/** Rejects names a router config could not take as an identifier. */
export function checkSpec(spec: RouterSpec): void {
  const seen = new Set<string>();
  for (const p of spec.peers) {
    if (!/^[a-z][a-z0-9_]{0,30}$/.test(p.name)) throw new Error(`router ${spec.routerId}: peer name "${p.name}" must match [a-z][a-z0-9_]*`);
    if (seen.has(p.name)) throw new Error(`router ${spec.routerId}: peer name "${p.name}" used twice`);
    seen.add(p.name);
    if (p.password !== undefined && /["\\\n]/.test(p.password)) throw new Error(`router ${spec.routerId}: peer ${p.name}: password must not contain quotes, backslashes or newlines`);
  }
}

export const DEFAULT_TIMERS = { holdTime: 9, keepalive: 3, connectRetry: 1 } as const;

/** What every config function starts from: the spec checked, its families and timers with defaults. */
export function resolveSpec(spec: RouterSpec): { families: Family[]; hold: number; keepalive: number; retry: number } {
  checkSpec(spec);
  return {
    families: spec.families ?? ['ipv4'],
    hold: spec.holdTime ?? DEFAULT_TIMERS.holdTime,
    keepalive: spec.keepalive ?? DEFAULT_TIMERS.keepalive,
    retry: spec.connectRetry ?? DEFAULT_TIMERS.connectRetry,
  };
}
