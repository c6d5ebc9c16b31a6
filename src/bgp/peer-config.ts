// The plain data BgpSpeaker takes and reports (the interface bgp-kube builds BgpPeer objects into,
// and writes BgpPeer status from). speaker.ts re-exports these.
import type { Family } from './open-check.ts';
import type { State } from './fsm.ts';

export type { Family };

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
  /** Seconds; defaults 90 / 30 / 120. */
  holdTime?: number;
  keepaliveInterval?: number;
  connectRetry?: number;
  /** TCP MD5 signature password (RFC 2385). */
  authPassword?: string;
  /** undefined: TTL 1 for eBGP, 64 for iBGP. */
  ebgpMultihopTtl?: number;
  families: Family[];
  gracefulRestart?: { restartTime: number };
  adminDown?: boolean;
}

/** BgpConf listenPort/listenAddresses; port -1 = do not listen (gobgp convention). */
export interface ListenConfig {
  port: number;
  addresses: string[];
}

export interface RouteSpec {
  /** '192.0.2.10/32' | '2001:db8::a/128' */
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

export interface PeerStatus {
  name: string;
  neighborAddress: string;
  state: State;
  /** ms epoch of the last state change. */
  since: number;
  /** ms epoch when the session became Established (absent when not established). */
  uptimeStart?: number;
  negotiatedHoldTime?: number;
  messages: { sent: MessageCounts; received: MessageCounts };
  lastError?: string;
  /** Prefixes currently announced to the peer (its Adj-RIB-Out). */
  announced?: number;
}

export const DEFAULT_HOLD_TIME = 90;
export const DEFAULT_KEEPALIVE = 30;
export const DEFAULT_CONNECT_RETRY = 120;
export const DEFAULT_PORT = 179;

export function emptyCounts(): MessageCounts {
  return { open: 0, update: 0, notification: 0, keepalive: 0, refresh: 0, total: 0 };
}

/** TTL of our packets to the peer: 1 for eBGP (directly connected) unless multihop, 64 for iBGP. */
export function peerTtl(p: PeerConfig): number {
  if (p.ebgpMultihopTtl !== undefined) return p.ebgpMultihopTtl;
  return p.localAs === p.peerAs ? 64 : 1;
}

/**
 * Problems with a peer's configuration, each naming the BgpPeer and the fix; empty when usable.
 * Pure, so the controller can report them in status before any socket is touched.
 */
export function peerConfigProblems(p: PeerConfig, parseAddress: (s: string) => Uint8Array | undefined): string[] {
  const out: string[] = [];
  const who = `BgpPeer ${p.name}`;
  if (!parseAddress(p.neighborAddress)) out.push(`${who}: neighborAddress "${p.neighborAddress}" is not an IP address`);
  const asOk = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
  if (!asOk(p.peerAs)) out.push(`${who}: peerAs ${p.peerAs} must be 1..4294967295`);
  if (!asOk(p.localAs)) out.push(`${who}: local AS ${p.localAs} (BgpConf as) must be 1..4294967295`);
  const hold = p.holdTime ?? DEFAULT_HOLD_TIME;
  if (!Number.isInteger(hold) || hold < 0 || hold > 65535 || hold === 1 || hold === 2) out.push(`${who}: holdTime ${hold} must be 0 or 3..65535 seconds`);
  if (p.authPassword !== undefined && new TextEncoder().encode(p.authPassword).length > 80) out.push(`${who}: authPassword is longer than the 80 bytes Linux TCP MD5 accepts; use a shorter password`);
  if (p.ebgpMultihopTtl !== undefined && (!Number.isInteger(p.ebgpMultihopTtl) || p.ebgpMultihopTtl < 1 || p.ebgpMultihopTtl > 255)) out.push(`${who}: ebgpMultihop TTL ${p.ebgpMultihopTtl} must be 1..255`);
  if (p.families.length === 0) out.push(`${who}: no address family (afiSafis): add ipv4-unicast and/or ipv6-unicast`);
  return out;
}
