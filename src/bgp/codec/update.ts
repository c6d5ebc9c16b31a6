// UPDATE (RFC 4271 §4.3): withdrawn routes, path attributes, NLRI; IPv6 travels in the
// MP_REACH_NLRI / MP_UNREACH_NLRI attributes (RFC 4760). Checks that need the whole message (the
// section lengths, the mandatory attributes) live here; each attribute's own checks in attributes.ts.
import {
  BgpError,
  ERR_UPDATE,
  UPDATE_MALFORMED_ATTRIBUTE_LIST,
  UPDATE_MISSING_WELL_KNOWN,
} from './errors.ts';
import { ATTR_AS_PATH, ATTR_NEXT_HOP, ATTR_ORIGIN, attributesLength, readAttributes, writeAttributes } from './attributes.ts';
import { prefixesLength, readPrefixes, writePrefixes } from './prefix.ts';
import type { CodecOptions, UpdateFault, UpdateMessage } from './types.ts';
import { Reader, type Writer } from './wire.ts';

/** Withdrawn Routes Length and Total Path Attribute Length. */
const FIXED = 4;

export function updateBodyLength(m: UpdateMessage, opts: CodecOptions): number {
  return FIXED + prefixesLength(m.withdrawn) + attributesLength(m.attributes, opts) + prefixesLength(m.nlri);
}

export function writeUpdate(w: Writer, m: UpdateMessage, opts: CodecOptions): void {
  const withdrawn = w.lengthField(2);
  writePrefixes(w, m.withdrawn, 4);
  withdrawn();
  const attrs = w.lengthField(2);
  writeAttributes(w, m.attributes, opts);
  attrs();
  writePrefixes(w, m.nlri, 4);
}

const malformedList = (why: string) => new BgpError(ERR_UPDATE, UPDATE_MALFORMED_ATTRIBUTE_LIST, `UPDATE: malformed attribute list: ${why}`);

/** Decodes an UPDATE body (`r` spans it exactly). */
export function readUpdate(r: Reader, opts: CodecOptions): UpdateMessage {
  // §6.3: section lengths that overrun the message are a Malformed Attribute List.
  const body = new Reader(r.buf, r.offset, r.end, () => malformedList('withdrawn routes or path attribute length overruns the message'));
  const withdrawn = readPrefixes(body.sub(body.u16()), 4);
  const { attributes, faults, malformed } = readAttributes(body.sub(body.u16()), opts);
  const nlri = readPrefixes(body.sub(body.remaining), 4);

  // §6.3 / RFC 4760 §3: announcing needs ORIGIN and AS_PATH, and NEXT_HOP for body NLRI. RFC 7606
  // §3(d) makes a missing one treat-as-withdraw: the routes are unusable, the session is fine.
  const announcing = nlri.length > 0 || (attributes.mpReach?.nlri.length ?? 0) > 0;
  if (announcing) {
    const missing = (code: number, name: string) => {
      const e = new BgpError(ERR_UPDATE, UPDATE_MISSING_WELL_KNOWN, `UPDATE: missing well-known attribute ${name}`, new Uint8Array([code]));
      if (opts.strict) throw e;
      faults.push({ action: 'treat-as-withdraw', code: e.code, subcode: e.subcode, data: e.data, reason: e.message });
    };
    // An attribute dropped as malformed already made this treat-as-withdraw; it is not also missing.
    const absent = (code: number) => !malformed.has(code);
    if (attributes.origin === undefined && absent(ATTR_ORIGIN)) missing(ATTR_ORIGIN, 'ORIGIN');
    if (attributes.asPath === undefined && absent(ATTR_AS_PATH)) missing(ATTR_AS_PATH, 'AS_PATH');
    if (nlri.length > 0 && attributes.nextHop === undefined && absent(ATTR_NEXT_HOP)) missing(ATTR_NEXT_HOP, 'NEXT_HOP');
  }

  const m: UpdateMessage = { type: 'update', withdrawn, attributes, nlri };
  const withdraw = faults.find((f) => f.action === 'treat-as-withdraw');
  const discarded: UpdateFault[] = faults.filter((f) => f.action === 'attribute-discard');
  if (withdraw) m.treatAsWithdraw = withdraw;
  if (discarded.length > 0) m.discarded = discarded;
  return m;
}
