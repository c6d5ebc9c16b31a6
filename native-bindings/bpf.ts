// Classic BPF programs (SO_ATTACH_FILTER) as plain data. The kernel runs them per frame
// before the frame is queued on our socket, so everything they drop costs no wakeup and no
// copy into JS. They filter only on cheap, structural facts; the codecs in src/l2 still
// validate every field (and count what is malformed), so the filters stay permissive about
// content and strict only about "is this the kind of frame this socket exists for".
//
// Offsets are from the start of the Ethernet header (packet sockets see the link header).

export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Opcode pieces (linux/bpf_common.h, linux/filter.h).
export const BPF_LD = 0x00;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_ABS = 0x20;
export const BPF_JEQ = 0x10;
export const BPF_K = 0x00;

/** Ancillary loads: `ld [SKF_AD_OFF + X]` reads skb metadata instead of packet bytes. */
export const SKF_AD_OFF = 0xfffff000; // -0x1000 as u32
export const SKF_AD_PKTTYPE = 4;
export const SKF_AD_VLAN_TAG_PRESENT = 44;

const PACKET_OTHERHOST = 3;
const PACKET_OUTGOING = 4;
/** Bytes of a frame to keep: more than any Ethernet frame we handle. */
const ACCEPT_LEN = 0x40000;

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const IPPROTO_ICMPV6 = 58;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;

// A tiny assembler: a program is a list of loads and "must equal one of" checks; every check
// jumps to the shared `drop` at the end on failure. This keeps jump offsets computed, not typed.
type Step =
  | { ld: 'b' | 'h' | 'w'; k: number }
  | { oneOf: number[] }
  | { noneOf: number[] };

function assemble(steps: Step[]): BpfInstruction[] {
  // First pass: count instructions so jumps to the final `drop` can be resolved.
  const sizes = steps.map((s) => ('ld' in s ? 1 : 'oneOf' in s ? s.oneOf.length : s.noneOf.length));
  const total = sizes.reduce((a, b) => a + b, 0);
  const drop = total + 1; // index of `ret 0`
  const out: BpfInstruction[] = [];
  for (const s of steps) {
    if ('ld' in s) {
      const size = s.ld === 'b' ? BPF_B : s.ld === 'h' ? BPF_H : BPF_W;
      out.push({ code: BPF_LD | size | BPF_ABS, jt: 0, jf: 0, k: s.k >>> 0 });
    } else if ('oneOf' in s) {
      // jeq v0 → past the remaining checks of this step; last one falls to drop on mismatch.
      s.oneOf.forEach((v, i) => {
        const here = out.length;
        const next = here + (s.oneOf.length - i); // first instruction of the next step
        const isLast = i === s.oneOf.length - 1;
        out.push({ code: BPF_JMP | BPF_JEQ | BPF_K, jt: next - here - 1, jf: isLast ? drop - here - 1 : 0, k: v >>> 0 });
      });
    } else {
      for (const v of s.noneOf) {
        const here = out.length;
        out.push({ code: BPF_JMP | BPF_JEQ | BPF_K, jt: drop - here - 1, jf: 0, k: v >>> 0 });
      }
    }
  }
  out.push({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: ACCEPT_LEN });
  out.push({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 });
  for (const ins of out) {
    if (ins.jt > 255 || ins.jf > 255) throw new Error('bpf: jump out of range');
  }
  return out;
}

/**
 * Drops what no responder socket should see, whatever its protocol:
 * - frames that carried a VLAN tag in skb metadata (hw-accelerated tag still present);
 * - frames the kernel marked PACKET_OTHERHOST (not addressed to us; this is also how a VLAN-tagged
 *   frame for a VLAN with no sub-interface shows up on the parent NIC after the tag is stripped);
 * - our own outgoing frames (PACKET_OUTGOING).
 */
const hostOnly: Step[] = [
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
    { oneOf: [IPPROTO_ICMPV6] },
    { ld: 'b', k: 14 + 40 },
    { oneOf: [ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT] },
  ]);
}

/** Accepts every frame (still subject to the socket's bound ethertype). */
export function acceptAllFilter(): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: ACCEPT_LEN }];
}

/** Rejects every frame: attached first so nothing is queued between socket() and the real filter. */
export function dropAllFilter(): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 }];
}
