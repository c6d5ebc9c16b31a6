// What we advertise in our OPEN, and what we accept in the peer's: a pure function from the local
// configuration and the received OPEN to either the negotiated session parameters or the exact
// NOTIFICATION to answer with (RFC 4271 §6.2, RFC 6793 for 4-octet AS, RFC 4760 for families,
// RFC 6286 for the BGP identifier).
import { AS_TRANS, type Capability, type OpenMessage } from './codec/types.ts';
import { bgpIdNumber } from './bgp-id.ts';

export type Family = 'ipv4-unicast' | 'ipv6-unicast';

export interface LocalOpenConfig {
  localAs: number;
  peerAs: number;
  routerId: string;
  /** Seconds we propose (0 = no keepalives, else >= 3). */
  holdTime: number;
  /** Seconds between our KEEPALIVEs when the negotiated hold time allows it. */
  keepaliveInterval?: number;
  families: Family[];
  gracefulRestart?: { restartTime: number };
}

export interface Negotiated {
  /** Seconds; 0 means neither side sends KEEPALIVEs nor runs a hold timer. */
  holdTime: number;
  /** Seconds between KEEPALIVEs (0 with holdTime 0). */
  keepaliveTime: number;
  fourOctetAs: boolean;
  /** Families both sides advertised (what we may send). */
  families: Family[];
  peerRouteRefresh: boolean;
  peerBgpId: string;
  peerAs: number;
}

export interface OpenRefusal {
  code: number;
  subcode: number;
  data: Uint8Array;
  /** Human text for the peer's status (lastError). */
  reason: string;
}




const AFI: Record<Family, number> = { 'ipv4-unicast': 1, 'ipv6-unicast': 2 };

/** Our OPEN: version 4, capabilities for each family, 4-octet AS, route refresh, graceful restart when configured. */
export function buildOpen(cfg: LocalOpenConfig): OpenMessage {
  const capabilities: Capability[] = cfg.families.map((f) => ({ kind: 'multiprotocol', afi: AFI[f], safi: 1 }));
  capabilities.push({ kind: 'route-refresh' });
  capabilities.push({ kind: 'four-octet-as', as: cfg.localAs });
  if (cfg.gracefulRestart) {
    // We only announce (no RIB to preserve across a restart of ours beyond what the receiving
    // router keeps): restarting=false, and "forwarding state preserved" for every family we
    // announce, since the data plane (kube-proxy on the node) keeps forwarding while we restart.
    capabilities.push({
      kind: 'graceful-restart',
      restarting: false,
      restartTime: cfg.gracefulRestart.restartTime,
      families: cfg.families.map((f) => ({ afi: AFI[f], safi: 1, forwardingPreserved: true })),
    });
  }
  return {
    type: 'open',
    version: 4,
    myAs: cfg.localAs > 0xffff ? AS_TRANS : cfg.localAs,
    holdTime: cfg.holdTime,
    bgpId: cfg.routerId,
    capabilities,
  };
}

function refuse(subcode: number, reason: string, data: Uint8Array = new Uint8Array(0)): { refusal: OpenRefusal } {
  return { refusal: { code: 2, subcode, data, reason } };
}

/** Checks a received OPEN against our configuration (RFC 4271 §6.2). */
export function checkOpen(cfg: LocalOpenConfig, open: OpenMessage): { negotiated: Negotiated } | { refusal: OpenRefusal } {
  if (open.version !== 4) {
    // Data: the largest version we support, 2 octets.
    return refuse(1, `peer speaks BGP version ${open.version}, we speak 4`, new Uint8Array([0, 4]));
  }
  const fourOctet = open.capabilities.find((c): c is Extract<Capability, { kind: 'four-octet-as' }> => c.kind === 'four-octet-as');
  const peerAs = fourOctet ? fourOctet.as : open.myAs;
  if (peerAs !== cfg.peerAs) {
    const data = new Uint8Array(2);
    new DataView(data.buffer).setUint16(0, open.myAs);
    return refuse(2, `peer AS ${peerAs} does not match the configured peerAs ${cfg.peerAs}`, data);
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    return refuse(6, `peer hold time ${open.holdTime} s is not allowed (0 or at least 3)`);
  }
  const id = bgpIdNumber(open.bgpId);
  if (id === undefined || id === 0) return refuse(3, `peer BGP identifier ${open.bgpId} is not a valid non-zero identifier`);
  // RFC 6286 §2.2: only within one AS must identifiers differ (collision detection compares them).
  if (cfg.localAs === cfg.peerAs && id === bgpIdNumber(cfg.routerId)) {
    return refuse(3, `peer BGP identifier ${open.bgpId} equals our router id (iBGP peers need distinct ids)`);
  }
  const holdTime = Math.min(cfg.holdTime, open.holdTime);
  // KEEPALIVE every third of the hold time (RFC 4271 §10), or the configured interval when it is
  // shorter: a configured interval longer than hold/3 would let the peer's hold timer expire.
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(cfg.keepaliveInterval ?? Infinity, Math.floor(holdTime / 3)));
  const mp = open.capabilities.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
  // RFC 4760 §8: a speaker that advertises no multiprotocol capability speaks IPv4 unicast only.
  const peerFamilies = new Set<Family>(mp.length === 0 ? ['ipv4-unicast'] : []);
  for (const c of mp) {
    if (c.safi !== 1) continue;
    if (c.afi === 1) peerFamilies.add('ipv4-unicast');
    if (c.afi === 2) peerFamilies.add('ipv6-unicast');
  }
  return {
    negotiated: {
      holdTime,
      keepaliveTime,
      fourOctetAs: fourOctet !== undefined,
      families: cfg.families.filter((f) => peerFamilies.has(f)),
      peerRouteRefresh: open.capabilities.some((c) => c.kind === 'route-refresh'),
      peerBgpId: open.bgpId,
      peerAs,
    },
  };
}
