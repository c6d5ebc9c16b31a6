// The one place that reads and writes big-endian fields. A Reader is bounded to a window of the
// buffer and throws the BgpError its owner chose when a field would run past the window: what the
// peer is told depends on where the bytes ran out (a capability, an attribute, the NLRI...), so the
// owner, not the reader, knows the NOTIFICATION. A Writer fills a buffer its caller sized with the
// matching encodingLength; writing past it is our bug, so it throws RangeError.
import type { BgpError } from './errors.ts';

export class Reader {
  private pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly short: () => BgpError,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(n: number): number {
    if (n < 0 || this.pos + n > this.end) throw this.short();
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf[this.take(1)]!;
  }

  u16(): number {
    const at = this.take(2);
    return (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  u32(): number {
    const at = this.take(4);
    return ((this.buf[at]! << 24) | (this.buf[at + 1]! << 16) | (this.buf[at + 2]! << 8) | this.buf[at + 3]!) >>> 0;
  }

  /** A view of the next `n` bytes (callers copy what they keep). */
  view(n: number): Uint8Array {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  /** A copy of the next `n` bytes: decoded values never alias the caller's (reused) stream buffer. */
  bytes(n: number): Uint8Array {
    return this.view(n).slice();
  }

  /**
   * A reader over the next `n` bytes, with its own error for running short inside them, also thrown
   * when the `n` bytes themselves overrun this reader: a section length that runs past the message
   * is that section's error (RFC 4271 §6.3: an UPDATE's attribute length -> Malformed Attribute
   * List 3/1), not a header error of the message.
   */
  sub(n: number, short: () => BgpError = this.short): Reader {
    if (n < 0 || n > this.remaining) throw short();
    const at = this.take(n);
    return new Reader(this.buf, at, at + n, short);
  }
}

export class Writer {
  offset = 0;

  constructor(readonly buf: Uint8Array) {}

  private room(n: number): number {
    if (this.offset + n > this.buf.length) throw new RangeError('bgp codec: encodingLength disagrees with encode (buffer too small)');
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(v: number): void {
    this.buf[this.room(1)] = v;
  }

  u16(v: number): void {
    const at = this.room(2);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  u32(v: number): void {
    const at = this.room(4);
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = v >>> 16;
    this.buf[at + 2] = v >>> 8;
    this.buf[at + 3] = v;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.room(b.length));
  }

  /** Reserves a 1- or 2-byte length field to fill in once its content is written. */
  lengthField(size: 1 | 2): () => void {
    const at = this.room(size);
    const start = this.offset;
    return () => {
      const n = this.offset - start;
      if (size === 1) this.buf[at] = n;
      else {
        this.buf[at] = n >>> 8;
        this.buf[at + 1] = n;
      }
    };
  }
}

/** Encoder-side range check: a value outside its field is a caller bug, reported as RangeError. */
export function checkUint(what: string, v: number, bits: 8 | 16 | 32): void {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** bits - 1) throw new RangeError(`bgp codec: ${what} ${v} is not a ${bits}-bit unsigned integer`);
}
