// Ethernet II frames (untagged), with the codec trio every module in src/l2 exposes, in the style of
// dns-packet: encode(value, buf?, offset?), decode(buf, offset?), encodingLength(value).
// decode(encode(f)) gives back f, and encode(decode(x)) gives back x byte for byte (the payload
// is everything after the header, padding included). Decoded byte fields are views into the
// input (no copies in the packet path): copy them if you keep them past the callback.
//
// Decoders never throw on bad bytes: a frame off the wire is untrusted input, and an exception
// per garbage frame would be slow and a crash risk. Their error is typed instead: { ok: false,
// reason } with reason one of REJECT_REASONS (result.ts). Encoders throw RangeError on values that
// cannot be written (a programming error, not wire data).
import { type Decoded, ok, reject } from './result.ts';

export const ETH_HEADER_LENGTH = 14;
/** Senders pad shorter frames (without FCS) to this size; decoders accept the padding. */
export const ETH_MIN_FRAME_LENGTH = 60;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100; // 802.1Q
export const ETHERTYPE_QINQ = 0x88a8; // 802.1ad
export const ETHERTYPE_QINQ_OLD = 0x9100; // pre-standard QinQ, still seen on switches

export interface EthernetFrame {
  dst: Uint8Array; // 6 bytes
  src: Uint8Array; // 6 bytes
  ethertype: number;
  /** Everything after the header, including any minimum-size padding. */
  payload: Uint8Array;
}

export function isVlanEthertype(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD;
}

export function decode(buf: Uint8Array, offset = 0): Decoded<EthernetFrame> {
  const frame = offset === 0 ? buf : buf.subarray(offset);
  if (frame.length < ETH_HEADER_LENGTH) return reject('truncated');
  const ethertype = (frame[12]! << 8) | frame[13]!;
  // A tagged frame on a socket for the untagged NIC belongs to another broadcast domain.
  if (isVlanEthertype(ethertype)) return reject('vlan-tagged');
  return ok({
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    ethertype,
    payload: frame.subarray(ETH_HEADER_LENGTH),
  });
}

export function encodingLength(f: EthernetFrame): number {
  return ETH_HEADER_LENGTH + f.payload.length;
}

/** Writes the 14-byte header at `offset`; returns the offset just past it. */
export function writeEthernetHeader(buf: Uint8Array, offset: number, dst: Uint8Array, src: Uint8Array, ethertype: number): number {
  if (dst.length !== 6 || src.length !== 6) throw new RangeError('ethernet: MAC addresses must be 6 bytes');
  buf.set(dst, offset);
  buf.set(src, offset + 6);
  buf[offset + 12] = (ethertype >> 8) & 0xff;
  buf[offset + 13] = ethertype & 0xff;
  return offset + ETH_HEADER_LENGTH;
}

/**
 * Encodes without padding: the kernel/NIC pads short frames on the wire, and an unpadded frame keeps
 * decode(encode(f)) exact.
 */
export function encode(f: EthernetFrame, buf?: Uint8Array, offset = 0): Uint8Array {
  const len = encodingLength(f);
  const out = buf ?? new Uint8Array(len);
  if (out.length - offset < len) throw new RangeError('ethernet: buffer too small');
  const p = writeEthernetHeader(out, offset, f.dst, f.src, f.ethertype);
  out.set(f.payload, p);
  return buf ? out.subarray(offset, offset + len) : out;
}
