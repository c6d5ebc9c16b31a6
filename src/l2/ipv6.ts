// The fixed 40-byte IPv6 header, with the codec trio of src/l2 (encode / decode / encodingLength).
// Only what NDP needs: extension headers are not walked (a
// packet whose next header is not ICMPv6 is simply not NDP for our purposes; RFC 4861 messages
// are never legitimately fragmented and their senders do not add extension headers).
import { type Decoded, ok, reject } from './result.ts';

export const IPV6_HEADER_LENGTH = 40;
export const NEXT_HEADER_ICMPV6 = 58;

export interface Ipv6Packet {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array; // 16 bytes
  dst: Uint8Array; // 16 bytes
  /** Exactly `payload length` bytes; anything after (Ethernet padding) is not part of the packet. */
  payload: Uint8Array;
}

/** Decodes the IPv6 packet at `offset`; encode(decode(x)) gives back its first encodingLength bytes. */
export function decode(buf: Uint8Array, offset = 0): Decoded<Ipv6Packet> {
  const b = offset === 0 ? buf : buf.subarray(offset);
  if (b.length < IPV6_HEADER_LENGTH) return reject('truncated');
  if (b[0]! >> 4 !== 6) return reject('bad-ip-version');
  const payloadLength = (b[4]! << 8) | b[5]!;
  if (b.length < IPV6_HEADER_LENGTH + payloadLength) return reject('truncated');
  return ok({
    trafficClass: ((b[0]! & 0x0f) << 4) | (b[1]! >> 4),
    flowLabel: ((b[1]! & 0x0f) << 16) | (b[2]! << 8) | b[3]!,
    nextHeader: b[6]!,
    hopLimit: b[7]!,
    src: b.subarray(8, 24),
    dst: b.subarray(24, 40),
    payload: b.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength),
  });
}

export interface Ipv6HeaderFields {
  trafficClass?: number;
  flowLabel?: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
}

/** Writes the 40-byte header at `offset`; returns the offset just past it. */
export function writeIpv6Header(buf: Uint8Array, offset: number, h: Ipv6HeaderFields): number {
  if (h.src.length !== 16 || h.dst.length !== 16) throw new RangeError('ipv6: addresses must be 16 bytes');
  if (h.payloadLength > 0xffff) throw new RangeError('ipv6: payload too long');
  const tc = h.trafficClass ?? 0;
  const fl = h.flowLabel ?? 0;
  buf[offset] = 0x60 | ((tc >> 4) & 0x0f);
  buf[offset + 1] = ((tc & 0x0f) << 4) | ((fl >> 16) & 0x0f);
  buf[offset + 2] = (fl >> 8) & 0xff;
  buf[offset + 3] = fl & 0xff;
  buf[offset + 4] = h.payloadLength >> 8;
  buf[offset + 5] = h.payloadLength & 0xff;
  buf[offset + 6] = h.nextHeader;
  buf[offset + 7] = h.hopLimit;
  buf.set(h.src, offset + 8);
  buf.set(h.dst, offset + 24);
  return offset + IPV6_HEADER_LENGTH;
}

export function encodingLength(p: Ipv6Packet): number {
  return IPV6_HEADER_LENGTH + p.payload.length;
}

export function encode(p: Ipv6Packet, buf?: Uint8Array, offset = 0): Uint8Array {
  const len = encodingLength(p);
  const out = buf ?? new Uint8Array(len);
  if (out.length - offset < len) throw new RangeError('ipv6: buffer too small');
  const q = writeIpv6Header(out, offset, { ...p, payloadLength: p.payload.length });
  out.set(p.payload, q);
  return buf ? out.subarray(offset, offset + len) : out;
}

// The link-local multicast groups NDP uses (RFC 4291 §2.7.1).

/** ff02::1:ffXX:XXXX, the solicited-node group an NS for `ipv6` is sent to. */
export function solicitedNodeAddress(ipv6: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = ipv6[13] ?? 0;
  out[14] = ipv6[14] ?? 0;
  out[15] = ipv6[15] ?? 0;
  return out;
}

/** True when the 16 bytes at `offset` are a solicited-node multicast address (ff02::1:ff00:0/104). */
export function isSolicitedNodeAddress(bytes: Uint8Array, offset = 0): boolean {
  if (bytes[offset] !== 0xff || bytes[offset + 1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 11] === 0x01 && bytes[offset + 12] === 0xff;
}

/** ff02::1, all nodes on the link: where unsolicited and DAD-defending NAs go. */
export function allNodesAddress(): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[15] = 0x01;
  return out;
}
