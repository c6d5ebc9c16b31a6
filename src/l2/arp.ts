// ARP (RFC 826) for Ethernet/IPv4 only, strictly validated: anything else on the ARP ethertype
// is not a question we can answer. The ARP probe and announcement forms follow RFC 5227. The codec
// trio of src/l2: encode / decode / encodingLength; every field of the 28 bytes is in the value, so
// encode(decode(x)) gives back x's first 28 bytes exactly (bytes after them are Ethernet padding).
import { type Decoded, ok, reject } from './result.ts';
import { ETHERTYPE_ARP, ETH_HEADER_LENGTH, writeEthernetHeader } from './ethernet.ts';
import { broadcastMac, zeroMac } from './mac.ts';

export const ARP_LENGTH = 28;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
/** Length of a complete (unpadded) Ethernet + ARP frame. */
export const ARP_FRAME_LENGTH = ETH_HEADER_LENGTH + ARP_LENGTH;

export interface ArpPacket {
  op: 1 | 2;
  senderMac: Uint8Array; // 6 bytes
  senderIp: Uint8Array; // 4 bytes
  targetMac: Uint8Array; // 6 bytes
  targetIp: Uint8Array; // 4 bytes
}

/** Decodes the ARP packet at `offset` (an Ethernet payload); bytes past its 28 (Ethernet padding) are ignored. */
export function decode(buf: Uint8Array, offset = 0): Decoded<ArpPacket> {
  const b = offset === 0 ? buf : buf.subarray(offset);
  if (b.length < ARP_LENGTH) return reject('truncated');
  if (b[0] !== 0 || b[1] !== 1) return reject('bad-hardware-type');
  if (b[2] !== 0x08 || b[3] !== 0x00) return reject('bad-protocol-type');
  if (b[4] !== 6) return reject('bad-hardware-length');
  if (b[5] !== 4) return reject('bad-protocol-length');
  const op = (b[6]! << 8) | b[7]!;
  if (op !== 1 && op !== 2) return reject('bad-opcode');
  return ok({
    op,
    senderMac: b.subarray(8, 14),
    senderIp: b.subarray(14, 18),
    targetMac: b.subarray(18, 24),
    targetIp: b.subarray(24, 28),
  });
}

export function encodingLength(_p?: ArpPacket): number {
  return ARP_LENGTH;
}

export function encode(p: ArpPacket, buf?: Uint8Array, offset = 0): Uint8Array {
  if (p.senderMac.length !== 6 || p.targetMac.length !== 6) throw new RangeError('arp: MAC addresses must be 6 bytes');
  if (p.senderIp.length !== 4 || p.targetIp.length !== 4) throw new RangeError('arp: IPv4 addresses must be 4 bytes');
  const out = buf ?? new Uint8Array(ARP_LENGTH);
  if (out.length - offset < ARP_LENGTH) throw new RangeError('arp: buffer too small');
  out[offset] = 0;
  out[offset + 1] = 1; // htype Ethernet
  out[offset + 2] = 0x08;
  out[offset + 3] = 0x00; // ptype IPv4
  out[offset + 4] = 6;
  out[offset + 5] = 4;
  out[offset + 6] = 0;
  out[offset + 7] = p.op;
  out.set(p.senderMac, offset + 8);
  out.set(p.senderIp, offset + 14);
  out.set(p.targetMac, offset + 18);
  out.set(p.targetIp, offset + 24);
  return buf ? out.subarray(offset, offset + ARP_LENGTH) : out;
}

/** A complete Ethernet + ARP frame (42 bytes, unpadded). */
export function arpFrame(ethDst: Uint8Array, ethSrc: Uint8Array, p: ArpPacket): Uint8Array {
  const out = new Uint8Array(ARP_FRAME_LENGTH);
  writeEthernetHeader(out, 0, ethDst, ethSrc, ETHERTYPE_ARP);
  encode(p, out, ETH_HEADER_LENGTH);
  return out;
}

/** Who-has `targetIp`, broadcast (target MAC zero, as RFC 826 leaves it unknown). */
export function arpRequestFrame(senderMac: Uint8Array, senderIp: Uint8Array, targetIp: Uint8Array): Uint8Array {
  return arpFrame(broadcastMac(), senderMac, { op: 1, senderMac, senderIp, targetMac: zeroMac(), targetIp });
}

/** `senderIp` is-at `senderMac`, unicast to the asker. */
export function arpReplyFrame(senderMac: Uint8Array, senderIp: Uint8Array, targetMac: Uint8Array, targetIp: Uint8Array): Uint8Array {
  return arpFrame(targetMac, senderMac, { op: 2, senderMac, senderIp, targetMac, targetIp });
}

/** RFC 5227 §2.1.1 probe: sender IP 0.0.0.0 so no cache learns anything; target MAC zero. */
export function arpProbeFrame(senderMac: Uint8Array, targetIp: Uint8Array): Uint8Array {
  return arpFrame(broadcastMac(), senderMac, { op: 1, senderMac, senderIp: new Uint8Array(4), targetMac: zeroMac(), targetIp });
}

/** RFC 5227 §2.3 announcement: a request with sender IP = target IP = `ip`, target MAC zero, broadcast. */
export function gratuitousArpRequestFrame(mac: Uint8Array, ip: Uint8Array): Uint8Array {
  return arpFrame(broadcastMac(), mac, { op: 1, senderMac: mac, senderIp: ip, targetMac: zeroMac(), targetIp: ip });
}

/**
 * Gratuitous reply (op 2, sender IP = target IP = `ip`), broadcast. Some stacks only update caches
 * from replies, hence both forms. Target MAC = our MAC, byte-identical to `arping -A`.
 */
export function gratuitousArpReplyFrame(mac: Uint8Array, ip: Uint8Array): Uint8Array {
  return arpFrame(broadcastMac(), mac, { op: 2, senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip });
}
