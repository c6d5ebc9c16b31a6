// frameLength cuts a TCP byte stream into messages however the stream was chunked: BIRD's messages
// back to back, fed in random pieces, come out as exactly the messages that went in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, frameLength } from '../../../src/bgp/codec/index.ts';
import { mulberry32 } from '../seeded-random.ts';
import { BIRD } from './fixtures.ts';

const MESSAGES = [BIRD.open4octetGr, BIRD.keepalive, BIRD.updateV4, BIRD.eorV4, BIRD.updateV6, BIRD.eorV6, BIRD.routeRefreshV4, BIRD.notificationBadMarker];
const STREAM = Uint8Array.from(MESSAGES.flatMap((m) => [...m]));

/** What a session's reader does: append each chunk, cut every complete message off the front. */
function cut(chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let buf = new Uint8Array(0);
  for (const c of chunks) {
    buf = Uint8Array.from([...buf, ...c]);
    let n: number | undefined;
    while ((n = frameLength(buf)) !== undefined) {
      out.push(buf.slice(0, n));
      buf = buf.slice(n);
    }
  }
  assert.equal(buf.length, 0, 'nothing left over');
  return out;
}

test('any chunking of a stream gives back its messages', () => {
  const rnd = mulberry32(2918);
  for (let round = 0; round < 200; round++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < STREAM.length; ) {
      const n = 1 + Math.floor(rnd() * (round % 2 ? 8 : 120));
      chunks.push(STREAM.slice(at, at + n));
      at += n;
    }
    assert.deepEqual(cut(chunks), MESSAGES);
  }
});

test('offsets: frameLength reads the message at `offset`, and needs its whole length', () => {
  let at = 0;
  for (const m of MESSAGES) {
    assert.equal(frameLength(STREAM, at), m.length);
    assert.equal(frameLength(STREAM.subarray(0, at + m.length - 1), at), undefined);
    at += m.length;
  }
  assert.equal(frameLength(STREAM, at), undefined);
});

test('a desynchronised stream fails at the first bad marker byte, before the header is complete', () => {
  const bad = STREAM.slice(0, BIRD.open4octetGr.length + 5);
  bad[BIRD.open4octetGr.length + 4] = 0xfe;
  assert.equal(frameLength(bad), BIRD.open4octetGr.length);
  assert.throws(() => frameLength(bad, BIRD.open4octetGr.length), (e: unknown) => e instanceof BgpError && e.code === 1 && e.subcode === 1);
});
