// NOTIFICATION (RFC 4271 §4.5): error code, subcode, data to the end of the message. Codes and
// subcodes are not judged on receipt: the session closes whatever they say, and an unknown code is
// still worth logging as sent.
import type { NotificationMessage } from './types.ts';
import { type Reader, type Writer, checkUint } from './wire.ts';
import type { BgpError } from './errors.ts';

export function notificationBodyLength(m: NotificationMessage): number {
  return 2 + m.data.length;
}

export function writeNotification(w: Writer, m: NotificationMessage): void {
  checkUint('NOTIFICATION code', m.code, 8);
  checkUint('NOTIFICATION subcode', m.subcode, 8);
  w.u8(m.code);
  w.u8(m.subcode);
  w.bytes(m.data);
}

export function readNotification(r: Reader): NotificationMessage {
  const code = r.u8();
  const subcode = r.u8();
  return { type: 'notification', code, subcode, data: r.bytes(r.remaining) };
}

/** The NOTIFICATION that answers a decoding error. */
export function notificationFor(e: BgpError): NotificationMessage {
  return { type: 'notification', code: e.code, subcode: e.subcode, data: e.data.slice() };
}
