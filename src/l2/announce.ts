// Pure frame builders and the probe check used by the announcer: what to send when we gain an
// address (gratuitous ARP / unsolicited NA) and how to find out first whether someone else has it
// (ARP probe / DAD probe). Builders take canonical or any valid IP text and throw on invalid
// input (a programming error, not wire data).
import * as ethernet from './ethernet.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.ts';
import * as arp from './arp.ts';
import { arpProbeFrame, gratuitousArpReplyFrame, gratuitousArpRequestFrame } from './arp.ts';
import * as ndp from './ndp.ts';
import { ndpFrame, NDP_HOP_LIMIT } from './ndp.ts';
import { formatMac, ipv6MulticastMac, macEquals, parseMac, solicitedNodeMulticastMac } from './mac.ts';
import { allNodesAddress, solicitedNodeAddress } from './ipv6.ts';
import { ipEquals, isIPv4Zero, isIPv6Unspecified, parseIPBytes, parseIPv4, parseIPv6 } from '../net/ip.ts';

function macBytes(mac: Uint8Array | string): Uint8Array {
  const b = typeof mac === 'string' ? parseMac(mac) : mac;
  if (!b || b.length !== 6) throw new TypeError(`invalid MAC address: ${String(mac)}`);
  return b;
}

function v4(ip: string): Uint8Array {
  const b = parseIPv4(ip);
  if (!b) throw new TypeError(`invalid IPv4 address: ${ip}`);
  return b;
}

function v6(ip: string): Uint8Array {
  const b = parseIPv6(ip);
  if (!b) throw new TypeError(`invalid IPv6 address: ${ip}`);
  return b;
}

/** Gratuitous ARP for a takeover: [request, reply], both broadcast, sender = target = `ip`. */
export function gratuitousArp(ip: string, mac: Uint8Array | string): Uint8Array[] {
  const m = macBytes(mac);
  const a = v4(ip);
  return [gratuitousArpRequestFrame(m, a), gratuitousArpReplyFrame(m, a)];
}

/** Unsolicited NA to ff02::1 (S=0, O=1 so caches replace a stale entry, target lladdr = `mac`). */
export function unsolicitedNa(ip: string, mac: Uint8Array | string): Uint8Array {
  const m = macBytes(mac);
  const a = v6(ip);
  const allNodes = allNodesAddress();
  return ndpFrame(ipv6MulticastMac(allNodes), m, {
    type: 'na', src: a, dst: allNodes, hopLimit: NDP_HOP_LIMIT, target: a,
    router: false, solicited: false, override: true, targetLinkLayer: m,
  });
}

/** RFC 5227 ARP probe for `ip` (sender IP 0.0.0.0, target MAC zero, broadcast). */
export function arpProbe(ip: string, mac: Uint8Array | string): Uint8Array {
  return arpProbeFrame(macBytes(mac), v4(ip));
}

/** DAD probe (RFC 4862 §5.4.2): NS from :: to the solicited-node group of `ip`, no source lladdr option. */
export function dadProbe(ip: string, mac: Uint8Array | string): Uint8Array {
  const m = macBytes(mac);
  const a = v6(ip);
  return ndpFrame(solicitedNodeMulticastMac(a), m, {
    type: 'ns', src: new Uint8Array(16), dst: solicitedNodeAddress(a), hopLimit: NDP_HOP_LIMIT, target: a, sourceLinkLayer: null,
  });
}

/** The takeover announcement frames for `ip`, by family. */
export function announcementFrames(ip: string, mac: Uint8Array | string): Uint8Array[] {
  return ip.includes(':') ? [unsolicitedNa(ip, mac)] : gratuitousArp(ip, mac);
}

/** The conflict probe frame for `ip`, by family. */
export function probeFrame(ip: string, mac: Uint8Array | string): Uint8Array {
  return ip.includes(':') ? dadProbe(ip, mac) : arpProbe(ip, mac);
}

/**
 * Whether a frame received while probing shows that another host has (or is claiming) `ip`.
 * Returns that host's MAC as text, or false. Counts as an answer: an ARP packet with sender IP =
 * `ip` from another MAC; another host's ARP probe for `ip` (RFC 5227 §2.1.1, simultaneous probe);
 * an NA for `ip` with another link-layer address; a DAD NS for `ip` from another host; an NS sent
 * from `ip` by another host. Malformed frames never count.
 */
export function probeAnswered(frame: Uint8Array, ip: string, ourMac: Uint8Array | string): string | false {
  const mine = macBytes(ourMac);
  const want = parseIPBytes(ip);
  if (!want) throw new TypeError(`invalid IP address: ${ip}`);
  const eth = ethernet.decode(frame);
  if (!eth.ok || macEquals(eth.value.src, mine)) return false;
  const { src: ethSrc, ethertype, payload } = eth.value;

  if (ethertype === ETHERTYPE_ARP && want.length === 4) {
    const d = arp.decode(payload);
    if (!d.ok || macEquals(d.value.senderMac, mine)) return false;
    const a = d.value;
    if (ipEquals(a.senderIp, 0, want, 0, 4)) return formatMac(a.senderMac);
    if (a.op === 1 && isIPv4Zero(a.senderIp) && ipEquals(a.targetIp, 0, want, 0, 4)) return formatMac(a.senderMac);
    return false;
  }
  if (ethertype === ETHERTYPE_IPV6 && want.length === 16) {
    const d = ndp.decode(payload);
    if (!d.ok) return false;
    const m = d.value;
    if (m.type === 'na') {
      if (!ipEquals(m.target, 0, want, 0, 16)) return false;
      const claimed = m.targetLinkLayer ?? ethSrc;
      return macEquals(claimed, mine) ? false : formatMac(claimed);
    }
    const asker = m.sourceLinkLayer ?? ethSrc;
    if (macEquals(asker, mine)) return false;
    if (isIPv6Unspecified(m.src) && ipEquals(m.target, 0, want, 0, 16)) return formatMac(asker);
    if (ipEquals(m.src, 0, want, 0, 16)) return formatMac(asker);
  }
  return false;
}
