// Segment beacons: the small frame each speaker sends every ~150 ms on every NIC it may announce
// on, so that its peers on the same Layer 2 segment can tell it is alive without the API server
// (VRRP and keepalived judge liveness the same way). The codec trio every module in src/l2
// exposes (dns-packet style): encode(b, buf?, offset?), decode(buf, offset?), encodingLength(b);
// decode(encode(b)) gives back b. Pure; the HMAC that
// authenticates a beacon is computed in beacon-auth.ts over the bytes this codec lays out.
//
// Where it goes on the wire, and why:
// - Destination 03:6f:65:6c:62:00 ("oelb" after 0x03). The first octet has the group bit (a
//   multicast, so switches flood it within the VLAN like a broadcast) and the locally administered
//   bit (it can never collide with an IEEE-assigned group). Unlike ff:ff:ff:ff:ff:ff it is dropped
//   by the NIC filter of every host that has not joined it, so hosts that are not speakers spend no
//   CPU on it. It is outside 01:80:c2:00:00:0x (link-local groups bridges must not forward) and
//   outside 01:00:5e / 33:33 (IP multicast, which IGMP/MLD-snooping switches may prune).
// - Ethertype 0x88B5, IEEE 802 "Local Experimental Ethertype 1" (IEEE Std 802, public use within
//   a private network, no registration). No kernel protocol handler claims it, so nothing but our
//   packet sockets consumes it, and no IP stack or firewall rule mistakes it for traffic. Other
//   experiments may use the same ethertype: the 4-byte magic below tells our frames apart.
//
// Payload layout (big-endian), no padding (the smallest beacon is already past Ethernet's 60 bytes):
//   0   4  magic "OELB"
//   4   1  version (1)
//   5   1  flags: bit 0 leaving (graceful stop: judge me dead now), bit 1 pools-unlisted (my pool
//          list did not fit; judge my pools from my Lease instead); other bits must be 0
//   6   2  sender's beacon interval, ms
//   8   8  incarnation: the sender's start time, ms since the Unix epoch
//   16  4  incarnation nonce (random per start; two starts in the same ms still differ)
//   20  4  sequence number (per incarnation, +1 per frame sent on any NIC)
//   24  8  sent at, ms since the Unix epoch (sender's wall clock)
//   32  4  key id: first 4 bytes of SHA-256 of the key that made the tag (receivers pick the key)
//   36  1  node name length n (1..253), then n bytes of node name ([a-z0-9.-], a DNS subdomain)
//   ..  2  pool count c, then c times: 1-byte length (1..253) + Eip name ([a-z0-9.-])
//   ..  32 tag: HMAC-SHA-256 over the sender's MAC and every payload byte before the tag
import { ETH_HEADER_LENGTH, writeEthernetHeader } from './ethernet.ts';

export const ETHERTYPE_BEACON = 0x88b5;
export const BEACON_MAGIC = new Uint8Array([0x4f, 0x45, 0x4c, 0x42]); // "OELB"
export const BEACON_VERSION = 1;
export const BEACON_TAG_LENGTH = 32;
export const BEACON_FIXED_LENGTH = 37; // up to and including the node name length
export const FLAG_LEAVING = 1;
export const FLAG_POOLS_UNLISTED = 2;
const KNOWN_FLAGS = FLAG_LEAVING | FLAG_POOLS_UNLISTED;
/** Largest payload we send: a 1500-byte MTU. */
export const BEACON_MAX_PAYLOAD = 1500;
const MAX_NAME = 253;

/** The beacons' destination group, 03:6f:65:6c:62:00 (see the header for why). A fresh copy. */
export function beaconGroupMac(): Uint8Array {
  return new Uint8Array([0x03, 0x6f, 0x65, 0x6c, 0x62, 0x00]);
}

/** Reasons decode() rejects bytes with. Stable: metrics and tests use them. */
export const BEACON_REJECT_REASONS = [
  'truncated', // fewer bytes than the fields need
  'not-beacon', // magic is not "OELB" (another 0x88B5 experiment)
  'bad-version', // a version this speaker does not speak
  'bad-flags', // a flag bit we do not know is set
  'bad-name', // node or pool name empty, too long, or not [a-z0-9.-]
  'bad-time', // a time field beyond 2^53 ms
  'trailing-bytes', // bytes after the tag
] as const;
export type BeaconRejectReason = (typeof BEACON_REJECT_REASONS)[number];
export type DecodedBeacon = { ok: true; value: Beacon } | { ok: false; reason: BeaconRejectReason };

export interface Beacon {
  leaving: boolean;
  /** The pool list did not fit in one frame: `pools` is empty and means "see my Lease". */
  poolsUnlisted: boolean;
  intervalMs: number;
  incarnation: { startedAtMs: number; nonce: number };
  seq: number;
  sentAtMs: number;
  keyId: number;
  node: string;
  /** Eip names the sender can serve on the NIC this beacon left from. */
  pools: string[];
  /** 32 bytes; zeros until signed. A view into the input after decode. */
  tag: Uint8Array;
}

const NAME_CHAR = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789.-') NAME_CHAR[c.charCodeAt(0)] = 1;

/** True for a name we can carry: 1..253 characters of [a-z0-9.-] (node and Eip names are DNS subdomains). */
export function isBeaconName(s: string): boolean {
  if (s.length < 1 || s.length > MAX_NAME) return false;
  for (let i = 0; i < s.length; i++) if (!NAME_CHAR[s.charCodeAt(i)]) return false;
  return true;
}

export function encodingLength(b: Pick<Beacon, 'node' | 'pools'>): number {
  let n = BEACON_FIXED_LENGTH + b.node.length + 2;
  for (const p of b.pools) n += 1 + p.length;
  return n + BEACON_TAG_LENGTH;
}

/** Offset of the tag in an encoded beacon payload (everything before it is authenticated). */
export function beaconTagOffset(payload: Uint8Array): number {
  return payload.length - BEACON_TAG_LENGTH;
}

function writeU64(out: Uint8Array, o: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  writeU32(out, o, hi);
  writeU32(out, o + 4, v - hi * 0x1_0000_0000);
}
function writeU32(out: Uint8Array, o: number, v: number): void {
  out[o] = (v >>> 24) & 0xff;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}
const readU32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const readU16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

function checkEncodable(b: Beacon): void {
  const u32 = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`beacon: ${what} must be a 32-bit unsigned integer, got ${v}`);
  };
  const u53 = (v: number, what: string) => {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`beacon: ${what} must be a non-negative safe integer, got ${v}`);
  };
  u53(b.incarnation.startedAtMs, 'incarnation start');
  u32(b.incarnation.nonce, 'incarnation nonce');
  u32(b.seq, 'sequence number');
  u53(b.sentAtMs, 'sent-at time');
  u32(b.keyId, 'key id');
  if (!Number.isInteger(b.intervalMs) || b.intervalMs < 0 || b.intervalMs > 0xffff) throw new RangeError(`beacon: interval ${b.intervalMs} ms does not fit 16 bits`);
  if (!isBeaconName(b.node)) throw new RangeError(`beacon: node name "${b.node}" is not 1..253 characters of [a-z0-9.-]`);
  for (const p of b.pools) if (!isBeaconName(p)) throw new RangeError(`beacon: pool name "${p}" is not 1..253 characters of [a-z0-9.-]`);
  if (b.pools.length > 0xffff) throw new RangeError('beacon: too many pools');
  if (b.poolsUnlisted && b.pools.length) throw new RangeError('beacon: pools-unlisted beacons carry no pool names');
  if (b.tag.length !== BEACON_TAG_LENGTH) throw new RangeError(`beacon: tag must be ${BEACON_TAG_LENGTH} bytes`);
}

export function encode(b: Beacon, buf?: Uint8Array, offset = 0): Uint8Array {
  checkEncodable(b);
  const len = encodingLength(b);
  const out = buf ?? new Uint8Array(len);
  if (out.length - offset < len) throw new RangeError('beacon: buffer too small');
  let o = offset;
  out.set(BEACON_MAGIC, o);
  out[o + 4] = BEACON_VERSION;
  out[o + 5] = (b.leaving ? FLAG_LEAVING : 0) | (b.poolsUnlisted ? FLAG_POOLS_UNLISTED : 0);
  out[o + 6] = b.intervalMs >> 8;
  out[o + 7] = b.intervalMs & 0xff;
  writeU64(out, o + 8, b.incarnation.startedAtMs);
  writeU32(out, o + 16, b.incarnation.nonce);
  writeU32(out, o + 20, b.seq);
  writeU64(out, o + 24, b.sentAtMs);
  writeU32(out, o + 32, b.keyId);
  o += 36;
  o = writeName(out, o, b.node);
  out[o] = b.pools.length >> 8;
  out[o + 1] = b.pools.length & 0xff;
  o += 2;
  for (const p of b.pools) o = writeName(out, o, p);
  out.set(b.tag, o);
  return buf ? out.subarray(offset, offset + len) : out;
}

function writeName(out: Uint8Array, o: number, s: string): number {
  out[o] = s.length;
  for (let i = 0; i < s.length; i++) out[o + 1 + i] = s.charCodeAt(i);
  return o + 1 + s.length;
}

function readName(b: Uint8Array, o: number): { name: string; next: number } | BeaconRejectReason {
  if (o >= b.length) return 'truncated';
  const n = b[o]!;
  if (n === 0 || n > MAX_NAME) return 'bad-name';
  if (o + 1 + n > b.length) return 'truncated';
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = b[o + 1 + i]!;
    if (!NAME_CHAR[c]) return 'bad-name';
    s += String.fromCharCode(c);
  }
  return { name: s, next: o + 1 + n };
}

function readU64(b: Uint8Array, o: number): number | undefined {
  const hi = readU32(b, o);
  if (hi >= 0x20_0000) return undefined; // beyond 2^53
  return hi * 0x1_0000_0000 + readU32(b, o + 4);
}

/** Decodes a beacon payload (the bytes after the Ethernet header). Never throws. */
export function decode(buf: Uint8Array, offset = 0): DecodedBeacon {
  const b = offset ? buf.subarray(offset) : buf;
  const no = (reason: BeaconRejectReason): DecodedBeacon => ({ ok: false, reason });
  if (b.length < 4) return no('truncated');
  for (let i = 0; i < 4; i++) if (b[i] !== BEACON_MAGIC[i]) return no('not-beacon');
  if (b.length < BEACON_FIXED_LENGTH) return no('truncated');
  if (b[4] !== BEACON_VERSION) return no('bad-version');
  const flags = b[5]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) return no('bad-flags');
  const startedAtMs = readU64(b, 8);
  const sentAtMs = readU64(b, 24);
  if (startedAtMs === undefined || sentAtMs === undefined) return no('bad-time');
  const node = readName(b, 36);
  if (typeof node === 'string') return no(node);
  let o = node.next;
  if (o + 2 > b.length) return no('truncated');
  const count = readU16(b, o);
  o += 2;
  const poolsUnlisted = (flags & FLAG_POOLS_UNLISTED) !== 0;
  if (poolsUnlisted && count !== 0) return no('bad-flags');
  const pools: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = readName(b, o);
    if (typeof p === 'string') return no(p);
    pools.push(p.name);
    o = p.next;
  }
  if (o + BEACON_TAG_LENGTH > b.length) return no('truncated');
  if (o + BEACON_TAG_LENGTH < b.length) return no('trailing-bytes');
  return {
    ok: true,
    value: {
      leaving: (flags & FLAG_LEAVING) !== 0,
      poolsUnlisted,
      intervalMs: readU16(b, 6),
      incarnation: { startedAtMs, nonce: readU32(b, 16) },
      seq: readU32(b, 20),
      sentAtMs,
      keyId: readU32(b, 32),
      node: node.name,
      pools,
      tag: b.subarray(o, o + BEACON_TAG_LENGTH),
    },
  };
}

/**
 * Pools that fit one frame: if the names do not fit in BEACON_MAX_PAYLOAD, none are listed and
 * the beacon says so (receivers then take the sender's pools from its Lease). Pure.
 */
export function fitPools(node: string, pools: readonly string[]): { pools: string[]; poolsUnlisted: boolean } {
  const sorted = [...new Set(pools)].sort();
  if (encodingLength({ node, pools: sorted }) <= BEACON_MAX_PAYLOAD) return { pools: sorted, poolsUnlisted: false };
  return { pools: [], poolsUnlisted: true };
}

/** A whole Ethernet frame: beacon group, `src`, ethertype 0x88B5, then the payload. */
export function beaconFrame(src: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETH_HEADER_LENGTH + payload.length);
  writeEthernetHeader(out, 0, beaconGroupMac(), src, ETHERTYPE_BEACON);
  out.set(payload, ETH_HEADER_LENGTH);
  return out;
}
