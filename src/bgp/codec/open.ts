// OPEN (RFC 4271 §4.2) with capabilities in optional parameters of type 2 (RFC 5492), and RFC 9072
// extended optional parameters length on both sides: when the capabilities need more than 255 bytes
// the encoder switches to it, and the decoder reads either form.
import { formatIPv4, parseIPv4 } from '../../net/ip.ts';
import {
  BgpError,
  ERR_OPEN,
  OPEN_BAD_BGP_ID,
  OPEN_BAD_PEER_AS,
  OPEN_UNACCEPTABLE_HOLD_TIME,
  OPEN_UNSPECIFIC,
  OPEN_UNSUPPORTED_OPTIONAL_PARAMETER,
  OPEN_UNSUPPORTED_VERSION,
} from './errors.ts';
import { capabilityLength, readCapabilities, writeCapability } from './capabilities.ts';
import { badLength } from './header.ts';
import type { Capability, OpenMessage } from './types.ts';
import { type Reader, type Writer, checkUint } from './wire.ts';

export const BGP_VERSION = 4;
/** Version, My AS, Hold Time, BGP Identifier, Opt Parm Len. */
const FIXED = 10;
const PARAM_CAPABILITIES = 2;
/** RFC 9072: Opt Parm Len and the first parameter type both 255 announce the extended form. */
const EXTENDED_MARK = 255;

/**
 * How the capabilities go into optional parameters. Standard form: as few parameters of at most
 * 255 value bytes as hold them, in order. When those take more than 255 bytes, the RFC 9072 form:
 * one parameter with a 2-byte length holding them all.
 */
function paramLayout(caps: readonly Capability[]): { extended: boolean; groups: Capability[][]; length: number } {
  const groups: Capability[][] = [];
  let cur: Capability[] = [];
  let curLen = 0;
  let total = 0;
  for (const c of caps) {
    const n = capabilityLength(c);
    if (cur.length > 0 && curLen + n > 255) {
      groups.push(cur);
      total += 2 + curLen;
      cur = [];
      curLen = 0;
    }
    cur.push(c);
    curLen += n;
  }
  if (cur.length > 0) {
    groups.push(cur);
    total += 2 + curLen;
  }
  if (total <= 255) return { extended: false, groups, length: total };
  // Extended: Opt Parm Len 255, type 255, 2-byte length, then one parameter (type, 2-byte length).
  let capsLen = 0;
  for (const c of caps) capsLen += capabilityLength(c);
  return { extended: true, groups: [caps.slice()], length: 3 + 3 + capsLen };
}

/** Body length (after the header). */
export function openBodyLength(m: OpenMessage): number {
  return FIXED + paramLayout(m.capabilities).length;
}

export function writeOpen(w: Writer, m: OpenMessage): void {
  if (m.version !== BGP_VERSION) throw new RangeError(`bgp codec: OPEN version ${m.version}: only BGP-4 is spoken`);
  checkUint('OPEN my AS', m.myAs, 16);
  if (m.myAs === 0) throw new RangeError('bgp codec: OPEN my AS 0 is reserved (RFC 7607)');
  checkUint('OPEN hold time', m.holdTime, 16);
  if (m.holdTime === 1 || m.holdTime === 2) throw new RangeError('bgp codec: OPEN hold time must be 0 or at least 3 seconds');
  const id = parseIPv4(m.bgpId);
  if (!id || (id[0]! | id[1]! | id[2]! | id[3]!) === 0) throw new RangeError(`bgp codec: OPEN BGP identifier "${m.bgpId}" must be a non-zero IPv4 address`);
  w.u8(m.version);
  w.u16(m.myAs);
  w.u16(m.holdTime);
  w.bytes(id);
  const layout = paramLayout(m.capabilities);
  if (!layout.extended) {
    w.u8(layout.length);
    for (const g of layout.groups) {
      w.u8(PARAM_CAPABILITIES);
      const done = w.lengthField(1);
      for (const c of g) writeCapability(w, c);
      done();
    }
    return;
  }
  w.u8(EXTENDED_MARK);
  w.u8(EXTENDED_MARK);
  const all = w.lengthField(2);
  w.u8(PARAM_CAPABILITIES);
  const one = w.lengthField(2);
  for (const c of layout.groups[0]!) writeCapability(w, c);
  one();
  all();
}

/** Decodes an OPEN body (`r` spans it exactly); `length` is the header's Length field, for 1/2 errors. */
export function readOpen(r: Reader, length: number): OpenMessage {
  const version = r.u8();
  if (version !== BGP_VERSION) {
    // §6.2: data is the largest supported version, 2 bytes.
    throw new BgpError(ERR_OPEN, OPEN_UNSUPPORTED_VERSION, `OPEN: unsupported version ${version} (we speak ${BGP_VERSION})`, new Uint8Array([0, BGP_VERSION]));
  }
  const myAs = r.u16();
  if (myAs === 0) throw new BgpError(ERR_OPEN, OPEN_BAD_PEER_AS, 'OPEN: My AS is 0 (RFC 7607)');
  const holdTime = r.u16();
  if (holdTime === 1 || holdTime === 2) throw new BgpError(ERR_OPEN, OPEN_UNACCEPTABLE_HOLD_TIME, `OPEN: hold time ${holdTime} s is unacceptable (0 or at least 3)`);
  const idBytes = r.view(4);
  // RFC 6286 §2.1: any non-zero 32-bit value is a valid identifier.
  if ((idBytes[0]! | idBytes[1]! | idBytes[2]! | idBytes[3]!) === 0) throw new BgpError(ERR_OPEN, OPEN_BAD_BGP_ID, 'OPEN: BGP identifier is 0.0.0.0');
  const bgpId = formatIPv4(idBytes);
  let optLen = r.u8();
  let wide = false;
  if (optLen === EXTENDED_MARK && r.remaining > 0 && r.buf[r.offset] === EXTENDED_MARK) {
    r.u8();
    optLen = r.remaining >= 2 ? r.u16() : optLen;
    wide = true;
  }
  // The parameters must fill the message exactly: a disagreement is in the Length field (as BIRD and GoBGP judge it).
  if (optLen !== r.remaining) throw badLength(length, `OPEN optional parameters length ${optLen} leaves ${r.remaining - optLen} bytes over`);
  const capabilities: Capability[] = [];
  const overrun = () => new BgpError(ERR_OPEN, OPEN_UNSPECIFIC, 'OPEN: an optional parameter runs past the optional parameters length');
  const params = r.sub(optLen, overrun);
  while (params.remaining > 0) {
    const type = params.u8();
    const n = wide ? params.u16() : params.u8();
    const value = params.sub(n, overrun);
    if (type !== PARAM_CAPABILITIES) {
      throw new BgpError(ERR_OPEN, OPEN_UNSUPPORTED_OPTIONAL_PARAMETER, `OPEN: unsupported optional parameter type ${type} (only capabilities, type 2)`);
    }
    readCapabilities(value, capabilities);
  }
  return { type: 'open', version, myAs, holdTime, bgpId, capabilities };
}
