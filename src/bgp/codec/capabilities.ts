// Capabilities advertised in OPEN (RFC 5492): code, length, value. The ones our speaker negotiates
// are decoded into fields; every other one is kept as its bytes (a peer's offer is never dropped
// silently, and logs can show it). A known capability whose value has the wrong size is an OPEN
// error with no dedicated subcode (RFC 5492 defines none), so it is 2/0 with the capability as data.
import { BgpError, ERR_OPEN, OPEN_BAD_PEER_AS, OPEN_UNSPECIFIC } from './errors.ts';
import type { Capability } from './types.ts';
import { type Reader, type Writer, checkUint } from './wire.ts';

export const CAP_MULTIPROTOCOL = 1;
export const CAP_ROUTE_REFRESH = 2;
export const CAP_GRACEFUL_RESTART = 64;
export const CAP_FOUR_OCTET_AS = 65;

const GR_RESTARTING = 0x8000;
const GR_NOTIFICATION = 0x4000;
const GR_TIME_MASK = 0x0fff;
const GR_FORWARDING = 0x80;

function valueLength(c: Capability): number {
  switch (c.kind) {
    case 'multiprotocol':
      return 4;
    case 'route-refresh':
      return 0;
    case 'four-octet-as':
      return 4;
    case 'graceful-restart':
      return 2 + 4 * c.families.length;
    case 'unknown':
      return c.data.length;
  }
}

/** Wire size of one capability: code, length, value. */
export function capabilityLength(c: Capability): number {
  return 2 + valueLength(c);
}

export function writeCapability(w: Writer, c: Capability): void {
  const n = valueLength(c);
  if (n > 255) throw new RangeError(`bgp codec: capability ${c.kind} value is ${n} bytes (at most 255)`);
  switch (c.kind) {
    case 'multiprotocol':
      checkUint('multiprotocol AFI', c.afi, 16);
      checkUint('multiprotocol SAFI', c.safi, 8);
      w.u8(CAP_MULTIPROTOCOL);
      w.u8(4);
      w.u16(c.afi);
      w.u8(0);
      w.u8(c.safi);
      return;
    case 'route-refresh':
      w.u8(CAP_ROUTE_REFRESH);
      w.u8(0);
      return;
    case 'four-octet-as':
      checkUint('four-octet AS', c.as, 32);
      if (c.as === 0) throw new RangeError('bgp codec: four-octet AS 0 is reserved (RFC 7607)');
      w.u8(CAP_FOUR_OCTET_AS);
      w.u8(4);
      w.u32(c.as);
      return;
    case 'graceful-restart': {
      if (!Number.isInteger(c.restartTime) || c.restartTime < 0 || c.restartTime > GR_TIME_MASK) {
        throw new RangeError(`bgp codec: graceful restart time ${c.restartTime} must be 0..4095 seconds`);
      }
      w.u8(CAP_GRACEFUL_RESTART);
      w.u8(n);
      w.u16((c.restarting ? GR_RESTARTING : 0) | (c.notification ? GR_NOTIFICATION : 0) | c.restartTime);
      for (const f of c.families) {
        checkUint('graceful restart AFI', f.afi, 16);
        checkUint('graceful restart SAFI', f.safi, 8);
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwardingPreserved ? GR_FORWARDING : 0);
      }
      return;
    }
    case 'unknown':
      checkUint('capability code', c.code, 8);
      if (KNOWN.has(c.code)) throw new RangeError(`bgp codec: capability code ${c.code} has its own kind; do not send it as unknown`);
      w.u8(c.code);
      w.u8(n);
      w.bytes(c.data);
      return;
  }
}

const KNOWN = new Set([CAP_MULTIPROTOCOL, CAP_ROUTE_REFRESH, CAP_GRACEFUL_RESTART, CAP_FOUR_OCTET_AS]);

/** Decodes the capabilities filling one optional parameter of type 2. */
export function readCapabilities(r: Reader, out: Capability[]): void {
  const overrun = () => new BgpError(ERR_OPEN, OPEN_UNSPECIFIC, 'OPEN: a capability runs past the end of its optional parameter');
  while (r.remaining > 0) {
    const start = r.offset;
    const code = r.u8();
    const length = r.u8();
    const v = r.sub(length, overrun);
    const whole = r.buf.slice(start, r.offset);
    const malformed = (why: string) => new BgpError(ERR_OPEN, OPEN_UNSPECIFIC, `OPEN: capability ${code}: ${why}`, whole);
    switch (code) {
      case CAP_MULTIPROTOCOL: {
        if (length !== 4) throw malformed(`multiprotocol value must be 4 bytes, got ${length}`);
        const afi = v.u16();
        v.u8(); // reserved: ignored on receipt (RFC 4760 §8)
        out.push({ kind: 'multiprotocol', afi, safi: v.u8() });
        break;
      }
      case CAP_ROUTE_REFRESH:
        if (length !== 0) throw malformed(`route refresh value must be empty, got ${length} bytes`);
        out.push({ kind: 'route-refresh' });
        break;
      case CAP_FOUR_OCTET_AS: {
        if (length !== 4) throw malformed(`four-octet AS value must be 4 bytes, got ${length}`);
        const as = v.u32();
        // RFC 7607: AS 0 in OPEN is a Bad Peer AS.
        if (as === 0) throw new BgpError(ERR_OPEN, OPEN_BAD_PEER_AS, 'OPEN: four-octet AS capability carries AS 0 (RFC 7607)', whole);
        out.push({ kind: 'four-octet-as', as });
        break;
      }
      case CAP_GRACEFUL_RESTART: {
        if (length < 2 || (length - 2) % 4 !== 0) throw malformed(`graceful restart value must be 2 + 4n bytes, got ${length}`);
        const flags = v.u16();
        const cap: Capability & { kind: 'graceful-restart' } = {
          kind: 'graceful-restart',
          restarting: (flags & GR_RESTARTING) !== 0,
          restartTime: flags & GR_TIME_MASK,
          families: [],
        };
        if (flags & GR_NOTIFICATION) cap.notification = true;
        while (v.remaining > 0) {
          const afi = v.u16();
          const safi = v.u8();
          cap.families.push({ afi, safi, forwardingPreserved: (v.u8() & GR_FORWARDING) !== 0 });
        }
        out.push(cap);
        break;
      }
      default:
        out.push({ kind: 'unknown', code, data: v.bytes(length) });
    }
  }
}
