// ROUTE-REFRESH (RFC 2918, subtypes from RFC 7313): AFI, a subtype byte (reserved in RFC 2918), SAFI.
// A wrong length is RFC 7313's ROUTE-REFRESH Message Error / Invalid Message Length, with the whole
// message as data.
import { BgpError, ERR_ROUTE_REFRESH, ROUTE_REFRESH_INVALID_LENGTH } from './errors.ts';
import type { RouteRefreshMessage } from './types.ts';
import { type Reader, type Writer, checkUint } from './wire.ts';

export const ROUTE_REFRESH_BODY_LENGTH = 4;

export function writeRouteRefresh(w: Writer, m: RouteRefreshMessage): void {
  checkUint('ROUTE-REFRESH AFI', m.afi, 16);
  checkUint('ROUTE-REFRESH SAFI', m.safi, 8);
  const subtype = m.subtype ?? 0;
  checkUint('ROUTE-REFRESH subtype', subtype, 8);
  if (m.subtype === 0) throw new RangeError('bgp codec: ROUTE-REFRESH subtype 0 is written by omitting subtype');
  w.u16(m.afi);
  w.u8(subtype);
  w.u8(m.safi);
}

/** `whole` is the complete message (header included), the data of a length error. */
export function readRouteRefresh(r: Reader, whole: Uint8Array): RouteRefreshMessage {
  if (r.remaining !== ROUTE_REFRESH_BODY_LENGTH) {
    throw new BgpError(ERR_ROUTE_REFRESH, ROUTE_REFRESH_INVALID_LENGTH, `ROUTE-REFRESH: body is ${r.remaining} bytes, expected ${ROUTE_REFRESH_BODY_LENGTH}`, whole.slice());
  }
  const afi = r.u16();
  const subtype = r.u8();
  const m: RouteRefreshMessage = { type: 'route-refresh', afi, safi: r.u8() };
  if (subtype !== 0) m.subtype = subtype;
  return m;
}
