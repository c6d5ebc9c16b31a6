// Classic BPF (SO_ATTACH_FILTER) as plain data: the instruction type the C ABI takes, a tiny
// assembler, and the two protocol-free programs (accept all, drop all). The kernel runs a program
// per frame before the frame is queued on the socket, so everything it drops costs no wakeup and
// no copy into JS. Which frames a responder socket wants (ARP, NS/NA) is Layer 2 knowledge: those
// programs are in src/l2/bpf-filters.ts, built with assemble() from here.
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

/** Bytes of a frame to keep: more than any Ethernet frame we handle. */
const ACCEPT_LEN = 0x40000;

/**
 * One step of a program for assemble(): a load (byte, half-word or word at offset k, or an
 * ancillary SKF_AD_OFF + X), or a check that the loaded value is one of / none of some constants.
 */
export type BpfStep =
  | { ld: 'b' | 'h' | 'w'; k: number }
  | { oneOf: number[] }
  | { noneOf: number[] };

/**
 * A tiny assembler: a program is a list of loads and "must equal one of" checks; every check jumps
 * to the shared `drop` at the end on failure, and a frame that passes them all is accepted. This
 * keeps jump offsets computed, not typed.
 */
export function assemble(steps: BpfStep[]): BpfInstruction[] {
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

/** Accepts every frame (still subject to the socket's bound ethertype). */
export function acceptAllFilter(): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: ACCEPT_LEN }];
}

/** Rejects every frame: attached first so nothing is queued between socket() and the real filter. */
export function dropAllFilter(): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 }];
}
