// BGP-4 messages as plain data: what src/bgp/codec decodes from the wire and encodes onto it.
// Symmetric by construction: for every value `m` the encoder accepts, decode(encode(m)) deep-equals
// `m`. Fields that are optional are omitted by the decoder when they hold their default, so a value
// built by hand without them round-trips too. Addresses are decoded as canonical text
// (src/net/ip.ts); the encoder also takes other spellings, which come back canonical.

/** Address Family Identifier (RFC 4760): 1 IPv4, 2 IPv6. Other values pass through as numbers. */
export type Afi = 1 | 2;
/** Subsequent AFI: 1 unicast, the only one we originate; other values pass through as numbers. */
export type Safi = 1;

export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;
/** RFC 6793: the 2-octet stand-in for a 4-octet AS number in OPEN's My AS and in AS_PATH. */
export const AS_TRANS = 23456;

/** An IP prefix: canonical address text with every host bit zero, and its length in bits. */
export interface Prefix {
  address: string;
  length: number;
}

export interface GracefulRestartFamily {
  afi: number;
  safi: number;
  /** F bit: forwarding state for this family was kept across the restart. */
  forwardingPreserved: boolean;
}

export type Capability =
  /** RFC 4760, code 1. */
  | { kind: 'multiprotocol'; afi: number; safi: number }
  /** RFC 2918, code 2. */
  | { kind: 'route-refresh' }
  /** RFC 6793, code 65: the speaker's real AS number (OPEN's My AS holds AS_TRANS when it exceeds 65535). */
  | { kind: 'four-octet-as'; as: number }
  /** RFC 4724, code 64. `restartTime` in seconds (12 bits); `notification` is RFC 8538's N bit (true, or absent when clear). */
  | {
      kind: 'graceful-restart';
      restarting: boolean;
      notification?: true;
      restartTime: number;
      families: GracefulRestartFamily[];
    }
  /** Any other capability, kept as its bytes so nothing a peer offers is lost. */
  | { kind: 'unknown'; code: number; data: Uint8Array };

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-octet My AS field: AS_TRANS when the real AS (in the four-octet-as capability) exceeds 65535. */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as dotted-quad text. */
  bgpId: string;
  capabilities: Capability[];
}

/** AS_SET 1, AS_SEQUENCE 2 (RFC 4271); AS_CONFED_SEQUENCE 3, AS_CONFED_SET 4 (RFC 5065). */
export type AsSegmentType = 1 | 2 | 3 | 4;
export const AS_SET = 1;
export const AS_SEQUENCE = 2;

export interface AsSegment {
  type: AsSegmentType;
  asns: number[];
}

export interface MpReach {
  afi: number;
  safi: number;
  /** One next hop, or for IPv6 a global address then a link-local one (RFC 2545 §3). */
  nextHops: string[];
  nlri: Prefix[];
}

export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: Prefix[];
}

/** An attribute this codec does not interpret, kept with its flags (Optional, Transitive, Partial, Extended Length). */
export interface RawAttribute {
  flags: number;
  code: number;
  data: Uint8Array;
}

export interface PathAttributes {
  /** 0 IGP, 1 EGP, 2 INCOMPLETE. */
  origin?: 0 | 1 | 2;
  asPath?: AsSegment[];
  /** IPv4 next hop of the body NLRI. */
  nextHop?: string;
  med?: number;
  localPref?: number;
  /** ATOMIC_AGGREGATE (well-known discretionary, no data): present (true) or absent. */
  atomicAggregate?: true;
  /** AGGREGATOR: its AS is 2 or 4 octets on the wire depending on CodecOptions.fourOctetAs. */
  aggregator?: { as: number; address: string };
  /** RFC 1997 communities, each a 32-bit number (AS << 16 | value). */
  communities?: number[];
  /** RFC 6793 AS4_PATH (always 4-octet ASNs), sent alongside an AS_PATH holding AS_TRANS to 2-octet speakers. */
  as4Path?: AsSegment[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /**
   * Unrecognized optional attributes, in ascending type code (RFC 4271 §5's sending order; the
   * decoder sorts them). Transitive ones are kept with their Partial bit, to be passed on with it set.
   */
  unknown?: RawAttribute[];
}

/**
 * An UPDATE error that RFC 7606 handles without resetting the session: the NOTIFICATION that RFC 4271
 * would have sent (kept for the log and for strict mode), the reason in words, and what to do.
 */
export interface UpdateFault {
  action: 'treat-as-withdraw' | 'attribute-discard';
  code: number;
  subcode: number;
  data: Uint8Array;
  reason: string;
}

export interface UpdateMessage {
  type: 'update';
  withdrawn: Prefix[];
  attributes: PathAttributes;
  nlri: Prefix[];
  /**
   * Decode only (the encoder ignores it): set when RFC 7606 says every prefix this UPDATE announces
   * (body NLRI and MP_REACH NLRI) must be handled as withdrawn instead of resetting the session.
   */
  treatAsWithdraw?: UpdateFault;
  /** Decode only: attributes that were malformed and dropped (RFC 7606 "attribute discard"). */
  discarded?: UpdateFault[];
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313 message subtype (1 BoRR, 2 EoRR); omitted for 0, a plain RFC 2918 request. */
  subtype?: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

export type MessageType = BgpMessage['type'];

/** Encoding/decoding context negotiated for one session. */
export interface CodecOptions {
  /** Both sides sent the four-octet-as capability: AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  fourOctetAs: boolean;
  /**
   * RFC 4271 error handling only: every UPDATE error throws BgpError, none is turned into
   * treat-as-withdraw or attribute discard (RFC 7606). Default false. For tests and strict peers.
   */
  strict?: boolean;
  /** RFC 8654 extended messages negotiated: messages up to 65535 bytes instead of 4096. */
  extendedMessages?: boolean;
}
