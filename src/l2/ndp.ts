// IPv6 Neighbor Solicitation (135) and Neighbor Advertisement (136), RFC 4861, decoded from and
// encoded to a complete IPv6 packet (header + ICMPv6 with checksum), validated per §7.1.1 and
// §7.1.2. Only the link-layer address options matter to us; other options are skipped (but their
// lengths are still checked, as the RFC requires). Decoded byte fields are views into the input.
import { type Decoded, ok, reject } from './result.ts';
import { ETHERTYPE_IPV6, ETH_HEADER_LENGTH, writeEthernetHeader } from './ethernet.ts';
import { IPV6_HEADER_LENGTH, NEXT_HEADER_ICMPV6, decodeIpv6, writeIpv6Header, isSolicitedNodeAddress } from './ipv6.ts';
import { icmpv6Checksum } from './icmpv6.ts';
import { isIPv6Multicast, isIPv6Unspecified } from '../net/ip.ts';

export const ICMPV6_NS = 135;
export const ICMPV6_NA = 136;
export const NDP_OPT_SOURCE_LLADDR = 1;
export const NDP_OPT_TARGET_LLADDR = 2;
/** ICMPv6 header (4) + reserved/flags (4) + target (16). */
export const NDP_BODY_LENGTH = 24;
/** RFC 4861 requires 255 on send and on receive: proof the packet did not cross a router. */
export const NDP_HOP_LIMIT = 255;

export interface NeighborSolicitation {
  type: 'ns';
  src: Uint8Array; // 16 bytes; :: for a DAD probe
  dst: Uint8Array; // 16 bytes
  hopLimit: number; // 255 when decoded; encode accepts others only so tests can build bad packets
  target: Uint8Array; // 16 bytes
  sourceLinkLayer: Uint8Array | null; // 6 bytes
}

export interface NeighborAdvertisement {
  type: 'na';
  src: Uint8Array;
  dst: Uint8Array;
  hopLimit: number;
  target: Uint8Array;
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetLinkLayer: Uint8Array | null; // 6 bytes
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

/** Decodes a complete IPv6 packet (the payload of an Ethernet frame) as NS or NA. */
export function decodeNdp(b: Uint8Array): Decoded<NdpMessage> {
  const ip = decodeIpv6(b);
  if (!ip.ok) return ip;
  const { src, dst, hopLimit, payload: m } = ip.value;
  if (ip.value.nextHeader !== NEXT_HEADER_ICMPV6) return reject('not-icmpv6');
  if (m.length < 4) return reject('truncated');
  const type = m[0]!;
  if (type !== ICMPV6_NS && type !== ICMPV6_NA) return reject('not-ndp');
  if (hopLimit !== NDP_HOP_LIMIT) return reject('hop-limit-not-255');
  if (m[1] !== 0) return reject('bad-code');
  if (m.length < NDP_BODY_LENGTH) return reject('icmp-too-short');
  if (icmpv6Checksum(src, dst, m) !== 0) return reject('bad-checksum');
  if (isIPv6Multicast(src)) return reject('source-multicast');
  const target = m.subarray(8, 24);
  if (isIPv6Multicast(target)) return reject('target-multicast');

  const wanted = type === ICMPV6_NS ? NDP_OPT_SOURCE_LLADDR : NDP_OPT_TARGET_LLADDR;
  let lladdr: Uint8Array | null = null;
  for (let p = NDP_BODY_LENGTH; p < m.length; ) {
    if (m.length - p < 2) return reject('option-truncated');
    const optType = m[p]!;
    const optLen = m[p + 1]! * 8;
    if (optLen === 0) return reject('option-length-zero');
    if (p + optLen > m.length) return reject('option-truncated');
    if (optType === wanted && lladdr === null) {
      if (optLen !== 8) return reject('bad-lladdr-option');
      lladdr = m.subarray(p + 2, p + 8);
    }
    p += optLen;
  }

  if (type === ICMPV6_NS) {
    if (isIPv6Unspecified(src)) {
      if (!isSolicitedNodeAddress(dst)) return reject('dad-dst-not-solicited-node');
      if (lladdr !== null) return reject('dad-with-source-lladdr');
    }
    return ok({ type: 'ns', src, dst, hopLimit, target, sourceLinkLayer: lladdr });
  }
  const flags = m[4]!;
  const solicited = (flags & 0x40) !== 0;
  if (solicited && isIPv6Multicast(dst)) return reject('na-solicited-to-multicast');
  return ok({
    type: 'na',
    src,
    dst,
    hopLimit,
    target,
    router: (flags & 0x80) !== 0,
    solicited,
    override: (flags & 0x20) !== 0,
    targetLinkLayer: lladdr,
  });
}

function lladdrOf(m: NdpMessage): Uint8Array | null {
  return m.type === 'ns' ? m.sourceLinkLayer : m.targetLinkLayer;
}

/** Bytes of the IPv6 packet `encodeNdp` writes. */
export function ndpEncodingLength(m: NdpMessage): number {
  return IPV6_HEADER_LENGTH + NDP_BODY_LENGTH + (lladdrOf(m) ? 8 : 0);
}

/** Encodes the complete IPv6 packet with payload length and ICMPv6 checksum filled in. */
export function encodeNdp(m: NdpMessage, buf?: Uint8Array, offset = 0): Uint8Array {
  const len = ndpEncodingLength(m);
  const out = buf ?? new Uint8Array(len);
  if (out.length - offset < len) throw new RangeError('ndp: buffer too small');
  if (m.target.length !== 16) throw new RangeError('ndp: target must be 16 bytes');
  const ll = lladdrOf(m);
  if (ll && ll.length !== 6) throw new RangeError('ndp: link-layer address must be 6 bytes');
  const icmpLen = len - IPV6_HEADER_LENGTH;
  const p = writeIpv6Header(out, offset, {
    payloadLength: icmpLen,
    nextHeader: NEXT_HEADER_ICMPV6,
    hopLimit: m.hopLimit,
    src: m.src,
    dst: m.dst,
  });
  out.fill(0, p, p + icmpLen); // buf may be reused: reserved bytes and checksum must start at zero
  out[p] = m.type === 'ns' ? ICMPV6_NS : ICMPV6_NA;
  if (m.type === 'na') out[p + 4] = (m.router ? 0x80 : 0) | (m.solicited ? 0x40 : 0) | (m.override ? 0x20 : 0);
  out.set(m.target, p + 8);
  if (ll) {
    out[p + 24] = m.type === 'ns' ? NDP_OPT_SOURCE_LLADDR : NDP_OPT_TARGET_LLADDR;
    out[p + 25] = 1;
    out.set(ll, p + 26);
  }
  const sum = icmpv6Checksum(m.src, m.dst, out.subarray(p, p + icmpLen));
  out[p + 2] = sum >> 8;
  out[p + 3] = sum & 0xff;
  return buf ? out.subarray(offset, offset + len) : out;
}

/** A complete Ethernet frame carrying `m`. */
export function ndpFrame(ethDst: Uint8Array, ethSrc: Uint8Array, m: NdpMessage): Uint8Array {
  const out = new Uint8Array(ETH_HEADER_LENGTH + ndpEncodingLength(m));
  writeEthernetHeader(out, 0, ethDst, ethSrc, ETHERTYPE_IPV6);
  encodeNdp(m, out, ETH_HEADER_LENGTH);
  return out;
}
