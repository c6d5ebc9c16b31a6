// Whole messages: header plus body, dispatched on the type (the dns-packet trio for the codec as a
// whole). decodeMessage() takes one complete message as frameLength() cut it from the stream and
// either returns it or throws the BgpError whose NOTIFICATION the session must send; encodeMessage()
// throws RangeError for a value it cannot represent (our bug, not the peer's).
import { BgpError, ERR_HEADER, HEADER_BAD_TYPE } from './errors.ts';
import {
  HEADER_LENGTH,
  TYPE_KEEPALIVE,
  TYPE_NOTIFICATION,
  TYPE_OPEN,
  TYPE_ROUTE_REFRESH,
  TYPE_UPDATE,
  badLength,
  frameLength,
  maxMessageLength,
  writeHeader,
} from './header.ts';
import { notificationBodyLength, readNotification, writeNotification } from './notification.ts';
import { openBodyLength, readOpen, writeOpen } from './open.ts';
import { ROUTE_REFRESH_BODY_LENGTH, readRouteRefresh, writeRouteRefresh } from './route-refresh.ts';
import type { BgpMessage, CodecOptions } from './types.ts';
import { readUpdate, updateBodyLength, writeUpdate } from './update.ts';
import { Reader, Writer } from './wire.ts';

/** RFC 4271 §4.2-§4.5: the smallest body each type can have (KEEPALIVE: exactly 0). */
const MIN_BODY: Record<number, number> = { [TYPE_OPEN]: 10, [TYPE_UPDATE]: 4, [TYPE_NOTIFICATION]: 2, [TYPE_KEEPALIVE]: 0 };

const TYPE_CODE = { open: TYPE_OPEN, update: TYPE_UPDATE, notification: TYPE_NOTIFICATION, keepalive: TYPE_KEEPALIVE, 'route-refresh': TYPE_ROUTE_REFRESH } as const;

function bodyLength(m: BgpMessage, opts: CodecOptions): number {
  switch (m.type) {
    case 'open':
      return openBodyLength(m);
    case 'update':
      return updateBodyLength(m, opts);
    case 'notification':
      return notificationBodyLength(m);
    case 'keepalive':
      return 0;
    case 'route-refresh':
      return ROUTE_REFRESH_BODY_LENGTH;
  }
}

/** Bytes `m` takes on the wire, header included. */
export function encodingLength(m: BgpMessage, opts: CodecOptions): number {
  return HEADER_LENGTH + bodyLength(m, opts);
}

export function encodeMessage(m: BgpMessage, opts: CodecOptions): Uint8Array {
  const length = encodingLength(m, opts);
  const max = maxMessageLength(opts);
  if (length > max) throw new RangeError(`bgp codec: ${m.type} message would be ${length} bytes (at most ${max}); split it (packUpdates does for UPDATEs)`);
  const w = new Writer(new Uint8Array(length));
  writeHeader(w, length, TYPE_CODE[m.type]);
  switch (m.type) {
    case 'open':
      writeOpen(w, m);
      break;
    case 'update':
      writeUpdate(w, m, opts);
      break;
    case 'notification':
      writeNotification(w, m);
      break;
    case 'keepalive':
      break;
    case 'route-refresh':
      writeRouteRefresh(w, m);
      break;
  }
  if (w.offset !== length) throw new RangeError(`bgp codec: ${m.type} wrote ${w.offset} bytes, encodingLength said ${length}`);
  return w.buf;
}

/** Decodes the one complete message at the start of `buf` (bytes after it are not looked at). */
export function decodeMessage(buf: Uint8Array, opts: CodecOptions): BgpMessage {
  const length = frameLength(buf, 0, maxMessageLength(opts));
  if (length === undefined) {
    const field = buf.length >= HEADER_LENGTH ? (buf[16]! << 8) | buf[17]! : buf.length;
    throw badLength(field, `only ${buf.length} bytes of the message are here`);
  }
  const type = buf[18]!;
  const body = length - HEADER_LENGTH;
  if (type < TYPE_OPEN || type > TYPE_ROUTE_REFRESH) throw new BgpError(ERR_HEADER, HEADER_BAD_TYPE, `message header: unknown message type ${type}`, new Uint8Array([type]));
  const min = MIN_BODY[type];
  if (min !== undefined && (body < min || (type === TYPE_KEEPALIVE && body !== 0))) {
    throw badLength(length, `wrong length for message type ${type}`);
  }
  const r = new Reader(buf, HEADER_LENGTH, length, () => badLength(length, `message type ${type} runs past its length`));
  switch (type) {
    case TYPE_OPEN:
      return readOpen(r, length);
    case TYPE_UPDATE:
      return readUpdate(r, opts);
    case TYPE_NOTIFICATION:
      return readNotification(r);
    case TYPE_KEEPALIVE:
      return { type: 'keepalive' };
    default:
      return readRouteRefresh(r, buf.subarray(0, length));
  }
}
