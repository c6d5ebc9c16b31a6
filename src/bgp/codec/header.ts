// The 19-byte message header (RFC 4271 §4.1) and stream framing: 16 marker bytes of 0xff, a 2-byte
// length covering the whole message, a 1-byte type. frameLength() is all a TCP reader needs to cut
// a byte stream into messages; errors in it are Message Header Errors (§6.1).
import { BgpError, ERR_HEADER, HEADER_BAD_LENGTH, HEADER_NOT_SYNCHRONIZED } from './errors.ts';
import type { CodecOptions } from './types.ts';
import type { Writer } from './wire.ts';

export const HEADER_LENGTH = 19;
export const MARKER_LENGTH = 16;
/** RFC 4271 §4: the largest message. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654: the largest message once extended messages are negotiated. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

export const TYPE_OPEN = 1;
export const TYPE_UPDATE = 2;
export const TYPE_NOTIFICATION = 3;
export const TYPE_KEEPALIVE = 4;
export const TYPE_ROUTE_REFRESH = 5;

export function maxMessageLength(opts?: Pick<CodecOptions, 'extendedMessages'>): number {
  return opts?.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

/** 1/2 with the offending 2-byte Length field as data (RFC 4271 §6.1). */
export function badLength(length: number, why: string): BgpError {
  return new BgpError(ERR_HEADER, HEADER_BAD_LENGTH, `message header: bad length ${length}: ${why}`, new Uint8Array([length >>> 8, length & 0xff]));
}

/**
 * Length of the complete message starting at `offset`, or undefined when more bytes are needed.
 * Throws BgpError 1/1 on a marker that is not all ones (checked as soon as its bytes arrive, so a
 * desynchronised stream fails at once) and 1/2 on a length below 19 or above `maxLength`.
 */
export function frameLength(buf: Uint8Array, offset = 0, maxLength = MAX_MESSAGE_LENGTH): number | undefined {
  const have = Math.min(buf.length - offset, MARKER_LENGTH);
  for (let i = 0; i < have; i++) {
    if (buf[offset + i] !== 0xff) throw new BgpError(ERR_HEADER, HEADER_NOT_SYNCHRONIZED, 'message header: marker is not all ones (connection not synchronized)');
  }
  if (buf.length - offset < HEADER_LENGTH) return undefined;
  const length = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  if (length < HEADER_LENGTH) throw badLength(length, `shorter than the ${HEADER_LENGTH}-byte header`);
  if (length > maxLength) throw badLength(length, `longer than the ${maxLength}-byte maximum`);
  return buf.length - offset >= length ? length : undefined;
}

export function writeHeader(w: Writer, length: number, type: number): void {
  for (let i = 0; i < MARKER_LENGTH; i++) w.u8(0xff);
  w.u16(length);
  w.u8(type);
}
