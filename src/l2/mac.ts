// MAC addresses as 6-byte Uint8Arrays; text form is lowercase colon-separated hex.

export const MAC_LENGTH = 6;

/** ff:ff:ff:ff:ff:ff. A fresh copy each call so no caller can corrupt a shared constant. */
export function broadcastMac(): Uint8Array {
  return new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

/** 00:00:00:00:00:00 (the ARP probe / announcement target hardware address). */
export function zeroMac(): Uint8Array {
  return new Uint8Array(6);
}

const HEX = /^[0-9a-fA-F]{2}$/;

/** Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`; null when it is not exactly 6 hex octets. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.split(text.includes('-') ? '-' : ':');
  if (parts.length !== 6) return null;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const p = parts[i]!;
    if (!HEX.test(p)) return null;
    out[i] = parseInt(p, 16);
  }
  return out;
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Formats 6 bytes starting at `offset` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  let s = HEX2[bytes[offset]!]!;
  for (let i = 1; i < 6; i++) s += ':' + HEX2[bytes[offset + i]!]!;
  return s;
}

/** Compares 6 bytes of `a` at `aOffset` with 6 bytes of `b` at `bOffset`, without allocating. */
export function macEquals(a: Uint8Array, b: Uint8Array, aOffset = 0, bOffset = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

/** True for group addresses (I/G bit set), which includes broadcast. */
export function isMulticastMac(bytes: Uint8Array, offset = 0): boolean {
  return ((bytes[offset] ?? 0) & 1) === 1;
}

export function isZeroMac(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 6; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** The Ethernet group for an IPv6 multicast address: 33:33 + its last 4 bytes (RFC 2464 §7). */
export function ipv6MulticastMac(ipv6: Uint8Array): Uint8Array {
  return new Uint8Array([0x33, 0x33, ipv6[12] ?? 0, ipv6[13] ?? 0, ipv6[14] ?? 0, ipv6[15] ?? 0]);
}

/** The Ethernet group of an IPv6 address's solicited-node multicast address: 33:33:ff + last 3 bytes. */
export function solicitedNodeMulticastMac(ipv6: Uint8Array): Uint8Array {
  return new Uint8Array([0x33, 0x33, 0xff, ipv6[13] ?? 0, ipv6[14] ?? 0, ipv6[15] ?? 0]);
}
