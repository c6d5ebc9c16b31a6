// Path attributes (RFC 4271 §4.3, §5; RFC 4760 MP_REACH/MP_UNREACH; RFC 1997 COMMUNITIES; RFC 6793
// AS4_PATH): flags, type code, 1- or 2-byte length, value.
//
// Errors. RFC 4271 §6.3 names a NOTIFICATION for each malformation; RFC 7606 then says which of
// them must NOT reset the session, because one bad route would otherwise take down every route of
// the peer. So each malformation is a BgpError carrying the RFC 4271 code/subcode/data, and what
// happens to it depends on the attribute (ACTION below, from RFC 7606 §7, and RFC 6793 §6 for
// AS4_PATH): 'reset' throws it; 'treat-as-withdraw' and 'attribute-discard' record it on the UPDATE
// and go on. With CodecOptions.strict every one throws, as in RFC 4271.
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../net/ip.ts';
import {
  BgpError,
  ERR_UPDATE,
  UPDATE_ATTRIBUTE_FLAGS,
  UPDATE_ATTRIBUTE_LENGTH,
  UPDATE_INVALID_NEXT_HOP,
  UPDATE_INVALID_ORIGIN,
  UPDATE_MALFORMED_AS_PATH,
  UPDATE_MALFORMED_ATTRIBUTE_LIST,
  UPDATE_OPTIONAL_ATTRIBUTE,
  UPDATE_UNRECOGNIZED_WELL_KNOWN,
} from './errors.ts';
import { type PrefixFamily, prefixesLength, readPrefixes, writePrefixes } from './prefix.ts';
import type { AsSegment, CodecOptions, MpReach, MpUnreach, PathAttributes, RawAttribute, UpdateFault } from './types.ts';
import { type Reader, type Writer, checkUint } from './wire.ts';

export const FLAG_OPTIONAL = 0x80;
export const FLAG_TRANSITIVE = 0x40;
export const FLAG_PARTIAL = 0x20;
export const FLAG_EXTENDED_LENGTH = 0x10;

export const ATTR_ORIGIN = 1;
export const ATTR_AS_PATH = 2;
export const ATTR_NEXT_HOP = 3;
export const ATTR_MED = 4;
export const ATTR_LOCAL_PREF = 5;
export const ATTR_ATOMIC_AGGREGATE = 6;
export const ATTR_AGGREGATOR = 7;
export const ATTR_COMMUNITIES = 8;
export const ATTR_MP_REACH_NLRI = 14;
export const ATTR_MP_UNREACH_NLRI = 15;
export const ATTR_AS4_PATH = 17;

const WELL_KNOWN = FLAG_TRANSITIVE;
const OPTIONAL_TRANSITIVE = FLAG_OPTIONAL | FLAG_TRANSITIVE;
const OPTIONAL_NON_TRANSITIVE = FLAG_OPTIONAL;

type Action = UpdateFault['action'] | 'reset';

/** Per recognized attribute: its Optional/Transitive flags, and what RFC 7606 does when it is malformed. */
const RECOGNIZED: ReadonlyMap<number, { flags: number; action: Action; name: string }> = new Map([
  [ATTR_ORIGIN, { flags: WELL_KNOWN, action: 'treat-as-withdraw', name: 'ORIGIN' }], // RFC 7606 §7.1
  [ATTR_AS_PATH, { flags: WELL_KNOWN, action: 'treat-as-withdraw', name: 'AS_PATH' }], // §7.2
  [ATTR_NEXT_HOP, { flags: WELL_KNOWN, action: 'treat-as-withdraw', name: 'NEXT_HOP' }], // §7.3
  [ATTR_MED, { flags: OPTIONAL_NON_TRANSITIVE, action: 'treat-as-withdraw', name: 'MULTI_EXIT_DISC' }], // §7.4
  // §7.5: treat-as-withdraw from an internal peer; from an external one LOCAL_PREF is ignored anyway.
  [ATTR_LOCAL_PREF, { flags: WELL_KNOWN, action: 'treat-as-withdraw', name: 'LOCAL_PREF' }],
  [ATTR_ATOMIC_AGGREGATE, { flags: WELL_KNOWN, action: 'attribute-discard', name: 'ATOMIC_AGGREGATE' }], // §7.6
  [ATTR_AGGREGATOR, { flags: OPTIONAL_TRANSITIVE, action: 'attribute-discard', name: 'AGGREGATOR' }], // §7.7
  [ATTR_COMMUNITIES, { flags: OPTIONAL_TRANSITIVE, action: 'treat-as-withdraw', name: 'COMMUNITIES' }], // §7.8
  // §7.11 / §5.3: without its NLRI nothing can be withdrawn, so a malformed MP attribute resets.
  [ATTR_MP_REACH_NLRI, { flags: OPTIONAL_NON_TRANSITIVE, action: 'reset', name: 'MP_REACH_NLRI' }],
  [ATTR_MP_UNREACH_NLRI, { flags: OPTIONAL_NON_TRANSITIVE, action: 'reset', name: 'MP_UNREACH_NLRI' }],
  [ATTR_AS4_PATH, { flags: OPTIONAL_TRANSITIVE, action: 'attribute-discard', name: 'AS4_PATH' }], // RFC 6793 §6
]);

/** The IPv4/IPv6 unicast and multicast families, whose NLRI are plain prefixes; others stay raw attributes. */
export function prefixFamilyOf(afi: number, safi: number): PrefixFamily | undefined {
  if (safi !== 1 && safi !== 2) return undefined;
  return afi === 1 ? 4 : afi === 2 ? 6 : undefined;
}

// ---------------------------------------------------------------- encode

interface Encoded {
  flags: number;
  code: number;
  length: number;
  write: (w: Writer) => void;
}

const asWidth = (opts: CodecOptions) => (opts.fourOctetAs ? 4 : 2);

function checkSegments(what: string, segs: readonly AsSegment[], width: number): number {
  let n = 0;
  for (const s of segs) {
    if (![1, 2, 3, 4].includes(s.type)) throw new RangeError(`bgp codec: ${what} segment type ${s.type} (1..4)`);
    if (s.asns.length < 1 || s.asns.length > 255) throw new RangeError(`bgp codec: ${what} segment holds ${s.asns.length} ASNs (1..255)`);
    for (const a of s.asns) checkUint(`${what} ASN (${width}-octet)`, a, width === 4 ? 32 : 16);
    n += 2 + width * s.asns.length;
  }
  return n;
}

function writeSegments(w: Writer, segs: readonly AsSegment[], width: number): void {
  for (const s of segs) {
    w.u8(s.type);
    w.u8(s.asns.length);
    for (const a of s.asns) if (width === 4) w.u32(a);
    else w.u16(a);
  }
}

function ipv4(what: string, text: string): Uint8Array {
  const b = parseIPv4(text);
  if (!b) throw new RangeError(`bgp codec: ${what} "${text}" is not an IPv4 address`);
  return b;
}

function nextHopBytes(m: MpReach, family: PrefixFamily): Uint8Array[] {
  const hops = m.nextHops.map((h) => parseIPv6(h) ?? (family === 4 ? parseIPv4(h) : undefined));
  if (hops.some((h) => !h)) throw new RangeError(`bgp codec: MP_REACH next hops ${JSON.stringify(m.nextHops)} are not addresses valid for AFI ${m.afi}`);
  const bytes = hops as Uint8Array[];
  const ok = bytes.length === 1 || (bytes.length === 2 && bytes[0]!.length === 16 && bytes[1]!.length === 16);
  if (!ok) throw new RangeError('bgp codec: MP_REACH takes one next hop, or two IPv6 ones (global, link-local)');
  return bytes;
}

function encodedList(a: PathAttributes, opts: CodecOptions): Encoded[] {
  const width = asWidth(opts);
  const out: Encoded[] = [];
  const add = (flags: number, code: number, length: number, write: (w: Writer) => void) => out.push({ flags, code, length, write });
  // RFC 7606 §5.1: MP_REACH_NLRI and MP_UNREACH_NLRI first, so a receiver finds the NLRI even if a later attribute is broken.
  if (a.mpReach) {
    const m = a.mpReach;
    const family = mpFamily(m.afi, m.safi);
    const hops = nextHopBytes(m, family);
    const hopLen = hops.reduce((n, h) => n + h.length, 0);
    add(OPTIONAL_NON_TRANSITIVE, ATTR_MP_REACH_NLRI, 5 + hopLen + prefixesLength(m.nlri), (w) => {
      w.u16(m.afi);
      w.u8(m.safi);
      w.u8(hopLen);
      for (const h of hops) w.bytes(h);
      w.u8(0); // reserved
      writePrefixes(w, m.nlri, family);
    });
  }
  if (a.mpUnreach) {
    const m = a.mpUnreach;
    const family = mpFamily(m.afi, m.safi);
    add(OPTIONAL_NON_TRANSITIVE, ATTR_MP_UNREACH_NLRI, 3 + prefixesLength(m.withdrawn), (w) => {
      w.u16(m.afi);
      w.u8(m.safi);
      writePrefixes(w, m.withdrawn, family);
    });
  }
  if (a.origin !== undefined) {
    if (a.origin !== 0 && a.origin !== 1 && a.origin !== 2) throw new RangeError(`bgp codec: ORIGIN ${String(a.origin)} (0, 1 or 2)`);
    const origin = a.origin;
    add(WELL_KNOWN, ATTR_ORIGIN, 1, (w) => w.u8(origin));
  }
  if (a.asPath) {
    const segs = a.asPath;
    add(WELL_KNOWN, ATTR_AS_PATH, checkSegments('AS_PATH', segs, width), (w) => writeSegments(w, segs, width));
  }
  if (a.nextHop !== undefined) {
    const hop = ipv4('NEXT_HOP', a.nextHop);
    if (!validNextHop(hop)) throw new RangeError(`bgp codec: NEXT_HOP ${a.nextHop} is not a unicast host address`);
    add(WELL_KNOWN, ATTR_NEXT_HOP, 4, (w) => w.bytes(hop));
  }
  if (a.med !== undefined) {
    const med = a.med;
    checkUint('MULTI_EXIT_DISC', med, 32);
    add(OPTIONAL_NON_TRANSITIVE, ATTR_MED, 4, (w) => w.u32(med));
  }
  if (a.localPref !== undefined) {
    const pref = a.localPref;
    checkUint('LOCAL_PREF', pref, 32);
    add(WELL_KNOWN, ATTR_LOCAL_PREF, 4, (w) => w.u32(pref));
  }
  if (a.atomicAggregate) add(WELL_KNOWN, ATTR_ATOMIC_AGGREGATE, 0, () => {});
  if (a.aggregator) {
    const { as, address } = a.aggregator;
    checkUint(`AGGREGATOR AS (${width}-octet)`, as, width === 4 ? 32 : 16);
    const addr = ipv4('AGGREGATOR address', address);
    add(OPTIONAL_TRANSITIVE, ATTR_AGGREGATOR, width + 4, (w) => {
      if (width === 4) w.u32(as);
      else w.u16(as);
      w.bytes(addr);
    });
  }
  if (a.communities) {
    const cs = a.communities;
    if (cs.length === 0) throw new RangeError('bgp codec: COMMUNITIES must not be empty (omit the attribute)');
    for (const c of cs) checkUint('community', c, 32);
    add(OPTIONAL_TRANSITIVE, ATTR_COMMUNITIES, 4 * cs.length, (w) => {
      for (const c of cs) w.u32(c);
    });
  }
  if (a.as4Path) {
    const segs = a.as4Path;
    add(OPTIONAL_TRANSITIVE, ATTR_AS4_PATH, checkSegments('AS4_PATH', segs, 4), (w) => writeSegments(w, segs, 4));
  }
  const codes = new Set(out.map((e) => e.code));
  if (a.unknown?.length === 0) throw new RangeError('bgp codec: unknown attributes must not be an empty list (omit the field)');
  let last = -1;
  for (const u of a.unknown ?? []) {
    checkUint('attribute code', u.code, 8);
    checkUint('attribute flags', u.flags, 8);
    if ((u.flags & FLAG_OPTIONAL) === 0 || (u.flags & 0x0f) !== 0) {
      throw new RangeError(`bgp codec: unknown attribute ${u.code}: flags 0x${u.flags.toString(16)} must have Optional set and the low 4 bits clear`);
    }
    if (codes.has(u.code)) throw new RangeError(`bgp codec: attribute ${u.code} appears twice`);
    if (u.code < last) throw new RangeError(`bgp codec: unknown attributes must be in ascending type code order (${u.code} after ${last})`);
    last = u.code;
    if (RECOGNIZED.has(u.code) && !rawMpAllowed(u)) throw new RangeError(`bgp codec: attribute ${u.code} has its own field; it cannot be sent as unknown`);
    if (u.data.length > 0xffff) throw new RangeError(`bgp codec: attribute ${u.code} is ${u.data.length} bytes (at most 65535)`);
    codes.add(u.code);
    const data = u.data;
    add(u.flags, u.code, data.length, (w) => w.bytes(data));
  }
  // After the MP attributes: ascending type code (stable, so unknowns keep their order).
  const mp = out.filter((e) => e.code === ATTR_MP_REACH_NLRI || e.code === ATTR_MP_UNREACH_NLRI);
  const rest = out.filter((e) => e.code !== ATTR_MP_REACH_NLRI && e.code !== ATTR_MP_UNREACH_NLRI).sort((x, y) => x.code - y.code);
  return [...mp, ...rest];
}

/** MP attributes of families we do not parse are carried raw (decoded that way too). */
function rawMpAllowed(u: RawAttribute): boolean {
  if (u.code !== ATTR_MP_REACH_NLRI && u.code !== ATTR_MP_UNREACH_NLRI) return false;
  if (u.data.length < 3) return false;
  return prefixFamilyOf((u.data[0]! << 8) | u.data[1]!, u.data[2]!) === undefined;
}

function mpFamily(afi: number, safi: number): PrefixFamily {
  const f = prefixFamilyOf(afi, safi);
  if (!f) throw new RangeError(`bgp codec: AFI ${afi} SAFI ${safi} is not IPv4/IPv6 unicast or multicast (send it as an unknown attribute)`);
  return f;
}

const headerLength = (e: Encoded) => ((e.flags & FLAG_EXTENDED_LENGTH) !== 0 || e.length > 255 ? 4 : 3);

export function attributesLength(a: PathAttributes, opts: CodecOptions): number {
  let n = 0;
  for (const e of encodedList(a, opts)) n += headerLength(e) + e.length;
  return n;
}

export function writeAttributes(w: Writer, a: PathAttributes, opts: CodecOptions): void {
  for (const e of encodedList(a, opts)) {
    const extended = headerLength(e) === 4;
    w.u8(extended ? e.flags | FLAG_EXTENDED_LENGTH : e.flags);
    w.u8(e.code);
    if (extended) w.u16(e.length);
    else w.u8(e.length);
    const start = w.offset;
    e.write(w);
    if (w.offset - start !== e.length) throw new RangeError(`bgp codec: attribute ${e.code} wrote ${w.offset - start} bytes, announced ${e.length}`);
  }
}

// ---------------------------------------------------------------- decode

/** A NEXT_HOP must be a unicast host address: not 0/8, multicast, or 240/4 (which holds the broadcast address). */
export function validNextHop(b: Uint8Array): boolean {
  return b[0] !== 0 && b[0]! < 224;
}

export interface DecodedAttributes {
  attributes: PathAttributes;
  faults: UpdateFault[];
  /** Recognized attributes that were present but dropped as malformed (not "missing"). */
  malformed: Set<number>;
}

const err = (subcode: number, why: string, data?: Uint8Array) => new BgpError(ERR_UPDATE, subcode, `UPDATE: ${why}`, data);

/** Decodes the path attributes filling `r`. Throws BgpError for the errors that reset the session. */
export function readAttributes(r: Reader, opts: CodecOptions): DecodedAttributes {
  const attributes: PathAttributes = {};
  const faults: UpdateFault[] = [];
  const seen = new Set<number>();
  const malformed = new Set<number>();
  const note = (action: UpdateFault['action'], e: BgpError) => {
    if (opts.strict) throw e;
    faults.push({ action, code: e.code, subcode: e.subcode, data: e.data, reason: e.message });
  };
  while (r.remaining > 0) {
    const start = r.offset;
    const flags = r.buf[start]! & 0xf0; // §4.3: the low four bits are ignored on receipt
    const headLen = flags & FLAG_EXTENDED_LENGTH ? 4 : 3;
    const length = r.remaining < headLen ? -1 : headLen === 4 ? (r.buf[start + 2]! << 8) | r.buf[start + 3]! : r.buf[start + 2]!;
    if (length < 0 || headLen + length > r.remaining) {
      // RFC 7606 §4: an attribute overrunning the attribute list is treat-as-withdraw (the total
      // length still locates the body NLRI). But an MP_REACH_NLRI hidden in the unreadable rest
      // could not be withdrawn, so that is only safe once an MP attribute has been found.
      const e = err(UPDATE_MALFORMED_ATTRIBUTE_LIST, 'a path attribute runs past the total path attribute length');
      if (opts.strict || !(seen.has(ATTR_MP_REACH_NLRI) || seen.has(ATTR_MP_UNREACH_NLRI))) throw e;
      note('treat-as-withdraw', e);
      break;
    }
    const code = r.buf[start + 1]!;
    const whole = r.buf.slice(start, start + headLen + length);
    r.view(headLen);
    const v = r.sub(length);
    const known = RECOGNIZED.get(code);
    if (seen.has(code)) {
      // RFC 7606 §3(g): a repeated MP attribute is a Malformed Attribute List; any other repeat is dropped.
      const e = err(UPDATE_MALFORMED_ATTRIBUTE_LIST, `attribute ${known?.name ?? code} appears more than once`);
      if (code === ATTR_MP_REACH_NLRI || code === ATTR_MP_UNREACH_NLRI) throw e;
      note('attribute-discard', e);
      continue;
    }
    seen.add(code);
    if (!known) {
      // §6.3: an unrecognized well-known attribute is an error RFC 7606 leaves as it is.
      if ((flags & FLAG_OPTIONAL) === 0) throw err(UPDATE_UNRECOGNIZED_WELL_KNOWN, `unrecognized well-known attribute ${code}`, whole);
      (attributes.unknown ??= []).push({ flags, code, data: whole.slice(headLen) });
      continue;
    }
    try {
      if ((flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE)) !== known.flags) {
        // RFC 7606 §3(c): wrong Optional/Transitive bits make the attribute malformed. The Partial bit is not judged.
        throw err(UPDATE_ATTRIBUTE_FLAGS, `${known.name} has flags 0x${flags.toString(16)}`, whole);
      }
      readOne(code, known.name, v, whole, attributes, opts);
    } catch (e) {
      if (!(e instanceof BgpError) || known.action === 'reset') throw e;
      note(known.action, e);
      malformed.add(code);
    }
  }
  // RFC 4271 §5: senders order attributes by type code, receivers must accept any order. One
  // canonical order keeps decode(encode(x)) equal to x.
  attributes.unknown?.sort((x, y) => x.code - y.code);
  return { attributes, faults, malformed };
}

function fixedLength(name: string, v: Reader, whole: Uint8Array, want: number): void {
  if (v.remaining !== want) throw err(UPDATE_ATTRIBUTE_LENGTH, `${name} length ${v.remaining}, expected ${want}`, whole);
}

function readSegments(v: Reader, width: number, what: string): AsSegment[] {
  const bad = (why: string) => err(UPDATE_MALFORMED_AS_PATH, `${what} malformed: ${why}`);
  const segs: AsSegment[] = [];
  while (v.remaining > 0) {
    if (v.remaining < 2) throw bad('truncated segment header');
    const type = v.u8();
    const count = v.u8();
    if (type < 1 || type > 4) throw bad(`segment type ${type}`);
    if (count === 0) throw bad('empty segment'); // RFC 7606 §7.2
    if (count * width > v.remaining) throw bad(`segment of ${count} ASNs overruns the attribute`);
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(width === 4 ? v.u32() : v.u16());
    segs.push({ type: type as AsSegment['type'], asns });
  }
  return segs;
}

function readOne(code: number, name: string, v: Reader, whole: Uint8Array, a: PathAttributes, opts: CodecOptions): void {
  switch (code) {
    case ATTR_ORIGIN: {
      fixedLength(name, v, whole, 1);
      const o = v.u8();
      if (o > 2) throw err(UPDATE_INVALID_ORIGIN, `ORIGIN value ${o} is undefined`, whole);
      a.origin = o as 0 | 1 | 2;
      return;
    }
    case ATTR_AS_PATH:
      a.asPath = readSegments(v, asWidth(opts), 'AS_PATH');
      return;
    case ATTR_NEXT_HOP: {
      fixedLength(name, v, whole, 4);
      const hop = v.view(4);
      if (!validNextHop(hop)) throw err(UPDATE_INVALID_NEXT_HOP, `NEXT_HOP ${formatIPv4(hop)} is not a unicast host address`, whole);
      a.nextHop = formatIPv4(hop);
      return;
    }
    case ATTR_MED:
      fixedLength(name, v, whole, 4);
      a.med = v.u32();
      return;
    case ATTR_LOCAL_PREF:
      fixedLength(name, v, whole, 4);
      a.localPref = v.u32();
      return;
    case ATTR_ATOMIC_AGGREGATE:
      fixedLength(name, v, whole, 0);
      a.atomicAggregate = true;
      return;
    case ATTR_AGGREGATOR: {
      const width = asWidth(opts);
      fixedLength(name, v, whole, width + 4);
      const as = width === 4 ? v.u32() : v.u16();
      a.aggregator = { as, address: formatIPv4(v.view(4)) };
      return;
    }
    case ATTR_COMMUNITIES: {
      if (v.remaining === 0 || v.remaining % 4 !== 0) throw err(UPDATE_ATTRIBUTE_LENGTH, `COMMUNITIES length ${v.remaining} is not a positive multiple of 4`, whole);
      const cs: number[] = [];
      while (v.remaining > 0) cs.push(v.u32());
      a.communities = cs;
      return;
    }
    case ATTR_AS4_PATH:
      a.as4Path = readSegments(v, 4, 'AS4_PATH');
      return;
    case ATTR_MP_REACH_NLRI:
    case ATTR_MP_UNREACH_NLRI:
      readMp(code, v, whole, a);
      return;
  }
}

function readMp(code: number, v: Reader, whole: Uint8Array, a: PathAttributes): void {
  const reach = code === ATTR_MP_REACH_NLRI;
  const name = reach ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI';
  if (v.remaining < (reach ? 5 : 3)) throw err(UPDATE_OPTIONAL_ATTRIBUTE, `${name} is ${v.remaining} bytes, too short for its fixed fields`, whole);
  const afi = (v.buf[v.offset]! << 8) | v.buf[v.offset + 1]!;
  const safi = v.buf[v.offset + 2]!;
  const family = prefixFamilyOf(afi, safi);
  if (!family) {
    // A family we neither offered nor parse: keep it as data (nothing is lost, nothing is reset).
    (a.unknown ??= []).push({ flags: whole[0]! & 0xf0, code, data: whole.slice(whole.length - v.remaining) });
    return;
  }
  v.view(3);
  if (!reach) {
    const m: MpUnreach = { afi, safi, withdrawn: readPrefixes(v, family) };
    a.mpUnreach = m;
    return;
  }
  const hopLen = v.u8();
  if (hopLen + 1 > v.remaining) throw err(UPDATE_OPTIONAL_ATTRIBUTE, `MP_REACH_NLRI next hop length ${hopLen} overruns the attribute`, whole);
  const hop = v.view(hopLen);
  v.u8(); // reserved (formerly the SNPA count): ignored on receipt, RFC 4760 §3
  const nlri = readPrefixes(v, family);
  let nextHops: string[];
  if (hopLen === 4 && family === 4) nextHops = [formatIPv4(hop)];
  else if (hopLen === 16) nextHops = [formatIPv6(hop)];
  else if (hopLen === 32) nextHops = [formatIPv6(hop), formatIPv6(hop, 16)];
  else {
    // RFC 7606 §7.11: the next hop length is what locates the NLRI; when it does not fit the
    // family, the NLRI cannot be trusted either, so this resets (it is not treat-as-withdraw).
    throw err(UPDATE_OPTIONAL_ATTRIBUTE, `MP_REACH_NLRI next hop length ${hopLen} does not fit AFI ${afi}`, whole);
  }
  a.mpReach = { afi, safi, nextHops, nlri };
}
