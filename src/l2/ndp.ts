// IPv6 Neighbor Solicitation (135) and Neighbor Advertisement (136), RFC 4861, decoded from and
// encoded to a complete IPv6 packet (header + ICMPv6 with checksum), validated per §7.1.1 and
// §7.1.2. The codec trio of every module in src/l2: encode(value, buf?, offset?), decode(buf,
// offset?) and encodingLength(value). Decoded byte fields are views into the input.
//
// What decode keeps, so encode(decode(x)) writes x again byte for byte: the traffic class and flow
// label, the reserved bits, and every option in wire order (`options`; unknown ones too, as RFC
// 4861 §4.6 says receivers skip them). The first link-layer address option of the message's kind
// is also given as `sourceLinkLayer` / `targetLinkLayer`, the field the responder reads; a value
// built by hand may give only that field, and encode writes it as the only option. Not part of the
// value: bytes past the IPv6 payload length (Ethernet padding), and the checksum, which encode
// computes. One accepted message is not rewritten as it came: a checksum field of 0xffff where the
// sum gives 0x0000 (one's complement has two zeros; both verify, as in the kernel), which encode
// writes as 0x0000 like every sender we know.
import { type Decoded, ok, reject } from './result.ts';
import { ETHERTYPE_IPV6, ETH_HEADER_LENGTH, writeEthernetHeader } from './ethernet.ts';
import * as ipv6 from './ipv6.ts';
import { IPV6_HEADER_LENGTH, NEXT_HEADER_ICMPV6, isSolicitedNodeAddress, writeIpv6Header } from './ipv6.ts';
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

/** One NDP option (RFC 4861 §4.6): `value` is what follows the type and length bytes. */
export interface NdpOption {
  type: number;
  /** 6, 14, 22 ... bytes: with the 2-byte header a multiple of 8, at most 2,040 in all. */
  value: Uint8Array;
}

interface NdpFields {
  src: Uint8Array; // 16 bytes
  dst: Uint8Array; // 16 bytes
  hopLimit: number; // 255 when decoded; encode accepts others only so tests can build bad packets
  target: Uint8Array; // 16 bytes
  /** IPv6 header fields NDP does not use; 0 when absent. */
  trafficClass?: number;
  flowLabel?: number;
  /** The reserved bits of the message (for an NA, the 29 after the flags); 0 when absent. */
  reserved?: number;
  /** Every option in wire order; absent: just the link-layer address option, if any. */
  options?: NdpOption[];
}

export interface NeighborSolicitation extends NdpFields {
  type: 'ns';
  // src is :: for a DAD probe
  sourceLinkLayer: Uint8Array | null; // 6 bytes
}

export interface NeighborAdvertisement extends NdpFields {
  type: 'na';
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetLinkLayer: Uint8Array | null; // 6 bytes
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

const NA_FLAG_BITS = 0xe0000000;

/** Decodes the IPv6 packet at `offset` (the payload of an Ethernet frame) as NS or NA. */
export function decode(buf: Uint8Array, offset = 0): Decoded<NdpMessage> {
  const ip = ipv6.decode(buf, offset);
  if (!ip.ok) return ip;
  const { src, dst, hopLimit, trafficClass, flowLabel, payload: m } = ip.value;
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
  const options: NdpOption[] = [];
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
    options.push({ type: optType, value: m.subarray(p + 2, p + optLen) });
    p += optLen;
  }
  const word = ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0;
  const common = { src, dst, hopLimit, trafficClass, flowLabel, target, options };

  if (type === ICMPV6_NS) {
    if (isIPv6Unspecified(src)) {
      if (!isSolicitedNodeAddress(dst)) return reject('dad-dst-not-solicited-node');
      if (lladdr !== null) return reject('dad-with-source-lladdr');
    }
    return ok({ type: 'ns', ...common, reserved: word, sourceLinkLayer: lladdr });
  }
  const solicited = (word & 0x40000000) !== 0;
  if (solicited && isIPv6Multicast(dst)) return reject('na-solicited-to-multicast');
  return ok({
    type: 'na',
    ...common,
    reserved: (word & ~NA_FLAG_BITS) >>> 0,
    router: (word & 0x80000000) !== 0,
    solicited,
    override: (word & 0x20000000) !== 0,
    targetLinkLayer: lladdr,
  });
}

function lladdrOf(m: NdpMessage): Uint8Array | null {
  return m.type === 'ns' ? m.sourceLinkLayer : m.targetLinkLayer;
}

/** The options encode writes: the given list, or the link-layer address option alone. */
function optionsOf(m: NdpMessage): NdpOption[] {
  if (m.options) return m.options;
  const ll = lladdrOf(m);
  return ll ? [{ type: m.type === 'ns' ? NDP_OPT_SOURCE_LLADDR : NDP_OPT_TARGET_LLADDR, value: ll }] : [];
}

/** Bytes of the IPv6 packet `encode` writes. */
export function encodingLength(m: NdpMessage): number {
  let len = IPV6_HEADER_LENGTH + NDP_BODY_LENGTH;
  for (const o of optionsOf(m)) len += 2 + o.value.length;
  return len;
}

// A value whose options and link-layer field say different things cannot be written faithfully.
function checkOptions(m: NdpMessage, options: NdpOption[]): void {
  const wanted = m.type === 'ns' ? NDP_OPT_SOURCE_LLADDR : NDP_OPT_TARGET_LLADDR;
  for (const o of options) {
    const len = 2 + o.value.length;
    if (len % 8 !== 0 || len > 2040) throw new RangeError(`ndp: option ${o.type} must be 8..2040 bytes in multiples of 8 (it is ${len})`);
  }
  const first = options.find((o) => o.type === wanted)?.value ?? null;
  const ll = lladdrOf(m);
  if (ll && ll.length !== 6) throw new RangeError('ndp: link-layer address must be 6 bytes');
  const same = first === null ? ll === null : ll !== null && first.length === 6 && first.every((b, i) => b === ll[i]);
  if (!same) throw new RangeError(`ndp: ${m.type === 'ns' ? 'sourceLinkLayer' : 'targetLinkLayer'} disagrees with the first such option in options`);
}

/** Encodes the complete IPv6 packet at `offset`, payload length and ICMPv6 checksum filled in. */
export function encode(m: NdpMessage, buf?: Uint8Array, offset = 0): Uint8Array {
  const options = optionsOf(m);
  if (m.options) checkOptions(m, options);
  const len = encodingLength(m);
  const out = buf ?? new Uint8Array(len);
  if (out.length - offset < len) throw new RangeError('ndp: buffer too small');
  if (m.target.length !== 16) throw new RangeError('ndp: target must be 16 bytes');
  const ll = lladdrOf(m);
  if (ll && ll.length !== 6) throw new RangeError('ndp: link-layer address must be 6 bytes');
  const icmpLen = len - IPV6_HEADER_LENGTH;
  const p = writeIpv6Header(out, offset, {
    trafficClass: m.trafficClass ?? 0,
    flowLabel: m.flowLabel ?? 0,
    payloadLength: icmpLen,
    nextHeader: NEXT_HEADER_ICMPV6,
    hopLimit: m.hopLimit,
    src: m.src,
    dst: m.dst,
  });
  out.fill(0, p, p + icmpLen); // buf may be reused: the checksum must start at zero
  out[p] = m.type === 'ns' ? ICMPV6_NS : ICMPV6_NA;
  let word = (m.reserved ?? 0) >>> 0;
  if (m.type === 'na') word = ((word & ~NA_FLAG_BITS) | (m.router ? 0x80000000 : 0) | (m.solicited ? 0x40000000 : 0) | (m.override ? 0x20000000 : 0)) >>> 0;
  out[p + 4] = word >>> 24;
  out[p + 5] = (word >>> 16) & 0xff;
  out[p + 6] = (word >>> 8) & 0xff;
  out[p + 7] = word & 0xff;
  out.set(m.target, p + 8);
  let q = p + NDP_BODY_LENGTH;
  for (const o of options) {
    out[q] = o.type;
    out[q + 1] = (2 + o.value.length) / 8;
    out.set(o.value, q + 2);
    q += 2 + o.value.length;
  }
  const sum = icmpv6Checksum(m.src, m.dst, out.subarray(p, p + icmpLen));
  out[p + 2] = sum >> 8;
  out[p + 3] = sum & 0xff;
  return buf ? out.subarray(offset, offset + len) : out;
}

/** A complete Ethernet frame carrying `m`. */
export function ndpFrame(ethDst: Uint8Array, ethSrc: Uint8Array, m: NdpMessage): Uint8Array {
  const out = new Uint8Array(ETH_HEADER_LENGTH + encodingLength(m));
  writeEthernetHeader(out, 0, ethDst, ethSrc, ETHERTYPE_IPV6);
  encode(m, out, ETH_HEADER_LENGTH);
  return out;
}
