// Decoders in the packet path never throw on bad bytes: a frame off the wire is untrusted input,
// and an exception per garbage frame would be both slow and a crash risk. They return either the
// value or one short, stable reason string that the responder counts and tests assert on.

/** Every reason a decoder in src/l2 can reject bytes with. Stable: metrics and tests use them. */
export const REJECT_REASONS = [
  // any layer
  'truncated', // fewer bytes than the header or a declared length needs
  // ethernet
  'vlan-tagged', // 802.1Q / 802.1ad tag on a socket that serves the untagged NIC
  // arp (RFC 826, Ethernet/IPv4 only)
  'bad-hardware-type', // htype != 1
  'bad-protocol-type', // ptype != 0x0800
  'bad-hardware-length', // hlen != 6
  'bad-protocol-length', // plen != 4
  'bad-opcode', // op not 1 (request) or 2 (reply)
  // ipv6
  'bad-ip-version', // version nibble != 6
  'not-icmpv6', // next header != 58 (includes any extension header)
  // icmpv6 / ndp (RFC 4861 §7.1.1, §7.1.2)
  'not-ndp', // ICMPv6 type other than 135 (NS) / 136 (NA)
  'hop-limit-not-255', // sent from off-link or forwarded
  'bad-code', // ICMP code != 0
  'icmp-too-short', // NS/NA shorter than 24 bytes
  'bad-checksum', // ICMPv6 checksum over the pseudo-header does not verify
  'source-multicast', // IPv6 source is a multicast address
  'target-multicast', // NS/NA target is a multicast address
  'option-length-zero', // an NDP option declares length 0
  'option-truncated', // an NDP option runs past the end of the message
  'bad-lladdr-option', // link-layer address option not 8 bytes (Ethernet: RFC 2464 §6)
  'dad-with-source-lladdr', // NS from :: carrying a source link-layer address option
  'dad-dst-not-solicited-node', // NS from :: not sent to a solicited-node multicast address
  'na-solicited-to-multicast', // NA to a multicast destination with S=1
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: RejectReason };

export function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function reject<T>(reason: RejectReason): Decoded<T> {
  return { ok: false, reason };
}
