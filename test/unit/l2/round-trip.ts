// What encode(decode(x)) must give back, for every frame a decoder in src/l2 accepts:
// - Ethernet: the whole frame (the payload is everything after the header, padding included).
// - ARP: the Ethernet header and the 28 ARP bytes; bytes after them are Ethernet padding, which
//   no field holds, so they are not written back.
// - IPv6 (and NS/NA inside it): the Ethernet header and the 40 + payload-length bytes of the
//   packet; bytes after the payload length are Ethernet padding, likewise not written back.
//   NDP's one exception: an ICMPv6 checksum field of 0xffff where the sum gives 0x0000 (both
//   zeros of one's complement verify) comes back as 0x0000.
// Everything the frame carries up to there comes back byte for byte: unknown NDP options in
// order, reserved bits, traffic class and flow label.
import assert from 'node:assert/strict';
import * as ethernet from '../../../src/l2/ethernet.ts';
import * as arp from '../../../src/l2/arp.ts';
import * as ipv6 from '../../../src/l2/ipv6.ts';
import * as ndp from '../../../src/l2/ndp.ts';

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Which codecs accepted `frame`; throws (assert) when any of them does not write it back as defined above. */
export function assertRoundTrip(frame: Uint8Array): string[] {
  const accepted: string[] = [];
  const eth = ethernet.decode(frame);
  if (!eth.ok) return accepted;
  accepted.push('ethernet');
  assert.equal(hexOf(ethernet.encode(eth.value)), hexOf(frame), 'ethernet: encode(decode(x)) is x');
  const header = frame.subarray(0, ethernet.ETH_HEADER_LENGTH);
  const payload = eth.value.payload;

  const a = arp.decode(payload);
  if (a.ok) {
    accepted.push('arp');
    const again = arp.encode(a.value);
    assert.equal(again.length, arp.encodingLength(a.value));
    assert.equal(hexOf(again), hexOf(payload.subarray(0, arp.ARP_LENGTH)), 'arp: the 28 bytes come back');
  }
  const ip = ipv6.decode(payload);
  if (ip.ok) {
    accepted.push('ipv6');
    const covered = ipv6.encodingLength(ip.value);
    assert.equal(hexOf(ipv6.encode(ip.value)), hexOf(payload.subarray(0, covered)), 'ipv6: header and payload come back');
  }
  const m = ndp.decode(payload);
  if (m.ok) {
    accepted.push('ndp');
    const covered = ndp.encodingLength(m.value);
    const again = ndp.encode(m.value);
    const want = payload.slice(0, covered);
    if (want[42] === 0xff && want[43] === 0xff && again[42] === 0 && again[43] === 0) {
      want[42] = 0; // the negative zero checksum, the one field written back in its other form
      want[43] = 0;
    }
    assert.equal(hexOf(again), hexOf(want), 'ndp: the IPv6 packet comes back');
    // and as a whole frame: header + the message, nothing else
    const whole = new Uint8Array(header.length + again.length);
    whole.set(header);
    whole.set(again, header.length);
    assert.equal(value(ethernet.decode(whole)).payload.length, covered);
  }
  return accepted;
}

function value<T>(d: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!d.ok) assert.fail(d.reason);
  return d.value;
}
