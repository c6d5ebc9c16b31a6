// Frames captured with `tcpdump -xx` on a veth pair between two scratch network namespaces
// (client 02:00:00:00:00:0a = 192.0.2.1 / 2001:db8::1, kernel host 02:00:00:00:00:0b = 192.0.2.2 /
// 2001:db8::2), Linux 6.x, iputils arping and ndisc6. They are the ground truth our encoders and
// responder are compared with, byte for byte. Whitespace is tcpdump's grouping.

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error('bad hex fixture');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export const CLIENT_MAC = '02:00:00:00:00:0a';
export const HOST_MAC = '02:00:00:00:00:0b';

/** `arping -I veth 192.0.2.2` from 192.0.2.1 (arping puts ff:ff:.. in the target MAC). */
export const CAP_ARP_REQUEST = hex(`
ffff ffff ffff 0200 0000 000a 0806 0001
0800 0604 0001 0200 0000 000a c000 0201
ffff ffff ffff c000 0202`);

/** The kernel's reply to CAP_ARP_REQUEST. */
export const CAP_ARP_REPLY = hex(`
0200 0000 000a 0200 0000 000b 0806 0001
0800 0604 0002 0200 0000 000b c000 0202
0200 0000 000a c000 0201`);

/** `arping -D 192.0.2.2`: an RFC 5227 probe (sender IP 0.0.0.0). */
export const CAP_ARP_PROBE = hex(`
ffff ffff ffff 0200 0000 000a 0806 0001
0800 0604 0001 0200 0000 000a 0000 0000
ffff ffff ffff c000 0202`);

/** The kernel's reply to CAP_ARP_PROBE: unicast to the prober, target IP 0.0.0.0. */
export const CAP_ARP_PROBE_REPLY = hex(`
0200 0000 000a 0200 0000 000b 0806 0001
0800 0604 0002 0200 0000 000b c000 0202
0200 0000 000a 0000 0000`);

/** `arping -U 192.0.2.1`: gratuitous request (arping uses ff:.. as target MAC; RFC 5227 says zero). */
export const CAP_GARP_REQUEST = hex(`
ffff ffff ffff 0200 0000 000a 0806 0001
0800 0604 0001 0200 0000 000a c000 0201
ffff ffff ffff c000 0201`);

/** `arping -A 192.0.2.1`: gratuitous reply, broadcast, target MAC = sender MAC. */
export const CAP_GARP_REPLY = hex(`
ffff ffff ffff 0200 0000 000a 0806 0001
0800 0604 0002 0200 0000 000a c000 0201
0200 0000 000a c000 0201`);

/** `ndisc6 2001:db8::2 veth`: NS from fe80::ff:fe00:a to ff02::1:ff00:2 with source lladdr option. */
export const CAP_NS = hex(`
3333 ff00 0002 0200 0000 000a 86dd 6003
109d 0020 3aff fe80 0000 0000 0000 0000
00ff fe00 000a ff02 0000 0000 0000 0000
0001 ff00 0002 8700 4c4d 0000 0000 2001
0db8 0000 0000 0000 0000 0000 0002 0101
0200 0000 000a`);

/** The kernel's solicited NA (S=1, O=1) answering CAP_NS. */
export const CAP_NA = hex(`
0200 0000 000a 0200 0000 000b 86dd 6000
0000 0020 3aff 2001 0db8 0000 0000 0000
0000 0000 0002 fe80 0000 0000 0000 0000
00ff fe00 000a 8800 ba97 6000 0000 2001
0db8 0000 0000 0000 0000 0000 0002 0201
0200 0000 000b`);

/** The kernel's DAD probe for 2001:db8::5 (carries an RFC 7527 nonce option, type 14: unknown to us). */
export const CAP_DAD_NS = hex(`
3333 ff00 0005 0200 0000 000a 86dd 6000
0000 0020 3aff 0000 0000 0000 0000 0000
0000 0000 0000 ff02 0000 0000 0000 0000
0001 ff00 0005 8700 1b73 0000 0000 2001
0db8 0000 0000 0000 0000 0000 0005 0e01
902c 5323 4019`);

/** The kernel's unsolicited NA for 2001:db8::5 (ndisc_notify=1): to ff02::1, O=1 only. */
export const CAP_UNSOLICITED_NA = hex(`
3333 0000 0001 0200 0000 000a 86dd 6000
0000 0020 3aff 2001 0db8 0000 0000 0000
0000 0000 0005 ff02 0000 0000 0000 0000
0000 0000 0001 8800 f919 2000 0000 2001
0db8 0000 0000 0000 0000 0000 0005 0201
0200 0000 000a`);

/** A router solicitation (ICMPv6 type 133): valid ICMPv6, not NDP that we handle. */
export const CAP_RS = hex(`
3333 0000 0002 0200 0000 000b 86dd 6000
0000 0010 3aff fe80 0000 0000 0000 0000
00ff fe00 000b ff02 0000 0000 0000 0000
0000 0000 0002 8500 7b18 0000 0000 0101
0200 0000 000b`);

/** Pads a frame with zeros to the Ethernet minimum (60 bytes without FCS), as senders do. */
export function padded(frame: Uint8Array): Uint8Array {
  if (frame.length >= 60) return frame;
  const out = new Uint8Array(60);
  out.set(frame);
  return out;
}

export const ALL_CAPTURES: Record<string, Uint8Array> = {
  CAP_ARP_REQUEST, CAP_ARP_REPLY, CAP_ARP_PROBE, CAP_ARP_PROBE_REPLY, CAP_GARP_REQUEST, CAP_GARP_REPLY,
  CAP_NS, CAP_NA, CAP_DAD_NS, CAP_UNSOLICITED_NA, CAP_RS,
};
