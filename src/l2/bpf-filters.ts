// The kernel-side filters of the responder's sockets (classic BPF, attached before bind): which
// frames an ARP socket and an NDP socket exist for. They filter only on cheap, structural facts;
// the codecs here still validate every field (and count what is malformed), so the filters stay
// permissive about content and strict only about "is this the kind of frame this socket is for".
// The instruction format and the assembler are native-bindings/bpf.ts's.
import { type BpfInstruction, type BpfStep, SKF_AD_OFF, SKF_AD_PKTTYPE, SKF_AD_VLAN_TAG_PRESENT, assemble } from '../../native-bindings/bpf.ts';
import { PACKET_OTHERHOST, PACKET_OUTGOING } from '../../native-bindings/libc.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.ts';
import { NEXT_HEADER_ICMPV6 } from './ipv6.ts';
import { ICMPV6_NA, ICMPV6_NS } from './ndp.ts';

/**
 * Drops what no responder socket should see, whatever its protocol:
 * - frames that carried a VLAN tag in skb metadata (hw-accelerated tag still present);
 * - frames the kernel marked PACKET_OTHERHOST (not addressed to us; this is also how a VLAN-tagged
 *   frame for a VLAN with no sub-interface shows up on the parent NIC after the tag is stripped);
 * - our own outgoing frames (PACKET_OUTGOING).
 */
const hostOnly: BpfStep[] = [
  { ld: 'w', k: SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT },
  { oneOf: [0] },
  { ld: 'w', k: SKF_AD_OFF + SKF_AD_PKTTYPE },
  { noneOf: [PACKET_OTHERHOST, PACKET_OUTGOING] },
];

/** ARP frames (ethertype 0x0806), untagged, addressed to this host (unicast/broadcast/multicast). */
export function arpFilter(): BpfInstruction[] {
  return assemble([...hostOnly, { ld: 'h', k: 12 }, { oneOf: [ETHERTYPE_ARP] }]);
}

/**
 * IPv6 Neighbor Solicitations and Advertisements: ethertype 0x86DD, next header 58 directly after
 * the fixed 40-byte IPv6 header (RFC 4861 messages never carry extension headers we must accept),
 * ICMPv6 type 135 or 136. Untagged and addressed to this host, as arpFilter().
 */
export function ndpFilter(): BpfInstruction[] {
  return assemble([
    ...hostOnly,
    { ld: 'h', k: 12 },
    { oneOf: [ETHERTYPE_IPV6] },
    { ld: 'b', k: 14 + 6 },
    { oneOf: [NEXT_HEADER_ICMPV6] },
    { ld: 'b', k: 14 + 40 },
    { oneOf: [ICMPV6_NS, ICMPV6_NA] },
  ]);
}
