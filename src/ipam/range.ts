// Eip `spec.address` parsing: one IP, a CIDR or an inclusive range, as a range of numbers.
//
// Every address is handled as a bigint plus a family (src/net/ip.ts), so an IPv6 /64 (2^64
// addresses) or even ::/0 needs no special case. Address text, in and out, is src/net/ip.ts's: its
// canonical form is the key used everywhere in the project (Eip status `used`, Service status,
// allocation maps, the announcer), so two spellings of one address never count twice.
import { type Family, type IP, bitsOf, familyName, ipToString, parseIP } from '../net/ip.ts';

/** An inclusive address range of one family. `size` = last - first + 1. */
export interface AddressRange {
  family: Family;
  first: bigint;
  last: bigint;
  size: bigint;
}

export interface ParsedAddress extends AddressRange {
  /** Set when the input was accepted but rewritten (CIDR with host bits set), for a status message. */
  note?: string;
}

export type Parsed<T, R extends string> = { ok: true; value: T } | { ok: false; reason: R; message: string };

const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

function invalid(message: string): { ok: false; reason: 'InvalidAddress'; message: string } {
  return { ok: false, reason: 'InvalidAddress', message };
}

export function rangeContains(r: AddressRange, ip: IP): boolean {
  return ip.family === r.family && ip.value >= r.first && ip.value <= r.last;
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** `first-last` in canonical text (a single address prints as itself). */
export function formatRange(r: AddressRange): string {
  const a = ipToString(r.family, r.first);
  return r.first === r.last ? a : `${a}-${ipToString(r.family, r.last)}`;
}

function describeBad(part: string): string {
  if (part.includes('%')) return `"${part}" has an IPv6 zone id (%...): pools hold global addresses, remove the zone`;
  return `"${part}" is not an IPv4 or IPv6 address`;
}

const HINT = 'write one IP (192.168.0.100), a CIDR (192.168.0.0/24) or a range (192.168.0.91-192.168.0.100)';

/**
 * Parse an Eip `spec.address`: one IP, a CIDR, or an inclusive range `a-b` (spaces around `-` allowed).
 *
 * Decisions:
 * - A CIDR counts every address in it, network and broadcast included, as OpenELB does.
 * - A CIDR with host bits set (`192.168.0.77/24`) is accepted and normalised to the network that holds
 *   it (`192.168.0.0/24`), as OpenELB's net.ParseCIDR does; `note` says so for the status message.
 * - Zone ids, mixed-family ranges, reversed ranges and prefixes out of range are rejected.
 */
export function parseAddressSpec(spec: string): Parsed<ParsedAddress, 'InvalidAddress'> {
  const s = (spec ?? '').trim();
  if (s === '') return invalid(`spec.address is empty: ${HINT}`);
  if (s.includes('%')) return invalid(`spec.address "${s}" has an IPv6 zone id (%...): pools hold global addresses, remove the zone`);

  const dash = s.indexOf('-');
  if (dash >= 0) {
    const left = s.slice(0, dash).trim();
    const right = s.slice(dash + 1).trim();
    if (left.includes('/') || right.includes('/') || right.includes('-')) {
      return invalid(`spec.address "${s}" mixes range and CIDR syntax: ${HINT}`);
    }
    const a = parseIP(left);
    const b = parseIP(right);
    if (!a) return invalid(`spec.address "${s}": ${describeBad(left)}; ${HINT}`);
    if (!b) return invalid(`spec.address "${s}": ${describeBad(right)}; ${HINT}`);
    const ta = ipToString(a.family, a.value);
    const tb = ipToString(b.family, b.value);
    if (a.family !== b.family) {
      return invalid(`range ${s} mixes ${familyName(a.family)} (${ta}) and ${familyName(b.family)} (${tb}): one Eip holds one family, create one Eip per family`);
    }
    if (a.value > b.value) {
      return invalid(`range ${s} is reversed: write the lower address first (${tb}-${ta})`);
    }
    return { ok: true, value: { family: a.family, first: a.value, last: b.value, size: b.value - a.value + 1n } };
  }

  const slash = s.indexOf('/');
  if (slash >= 0) {
    const host = s.slice(0, slash).trim();
    const lenText = s.slice(slash + 1).trim();
    const ip = parseIP(host);
    if (!ip) return invalid(`spec.address "${s}": ${describeBad(host)}; ${HINT}`);
    const bits = bitsOf(ip.family);
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) {
      return invalid(`spec.address "${s}": prefix length "/${lenText}" must be a number from 0 to ${bits} for ${familyName(ip.family)}`);
    }
    const len = Number(lenText);
    const hostBits = BigInt(bits - len);
    const hostMask = (1n << hostBits) - 1n;
    const first = ip.value & ~hostMask & MAX[ip.family];
    const last = first | hostMask;
    const value: ParsedAddress = { family: ip.family, first, last, size: hostMask + 1n };
    if (first !== ip.value) {
      const net = `${ipToString(ip.family, first)}/${len}`;
      value.note = `spec.address ${s} has host bits set; using the network that holds it, ${net} (write ${net} to silence this)`;
    }
    return { ok: true, value };
  }

  const ip = parseIP(s);
  if (!ip) return invalid(`spec.address "${s}": ${describeBad(s)}; ${HINT}`);
  return { ok: true, value: { family: ip.family, first: ip.value, last: ip.value, size: 1n } };
}
