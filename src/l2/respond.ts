// The responder's whole decision, as a pure function of one received frame: answer it (with the
// exact reply frame to send), report that another host claims an address we own, ignore it, or
// count it as malformed. No sockets, no state: the caller owns the socket, the owned set and the
// counters. Per frame it allocates only the decoded views (and an NDP message's option list), one
// or two address strings for the `owned` lookups, and the reply.
import * as ethernet from './ethernet.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.ts';
import * as arp from './arp.ts';
import { arpReplyFrame } from './arp.ts';
import * as ndp from './ndp.ts';
import { ndpFrame, NDP_HOP_LIMIT } from './ndp.ts';
import { formatMac, isMulticastMac, isZeroMac, macEquals, ipv6MulticastMac } from './mac.ts';
import { allNodesAddress } from './ipv6.ts';
import { formatIPv4, formatIPv6, ipEquals, isIPv4Zero, isIPv6Multicast, isIPv6Unspecified } from '../net/ip.ts';
import type { RejectReason } from './result.ts';

export interface NicIdentity {
  /** The MAC of the NIC the frame arrived on; every answer carries it (never another node's). */
  mac: Uint8Array;
}

export type ReplyWhy = 'arp-request' | 'arp-probe' | 'ns' | 'ns-nud' | 'ns-dad';

/**
 * Why a frame shows another host claiming an owned address:
 * - arp-reply: an ARP reply with sender IP = owned IP from another MAC
 * - arp-gratuitous: an ARP request with sender IP = target IP = owned IP from another MAC
 * - arp-sender-ip: any other ARP request using an owned IP as its sender IP (RFC 5227 §2.4)
 * - na: a Neighbor Advertisement for an owned target with another link-layer address
 * - ns-source: a Neighbor Solicitation sent from an owned IP by another MAC
 */
export type ConflictWhy = 'arp-reply' | 'arp-gratuitous' | 'arp-sender-ip' | 'na' | 'ns-source';

export const IGNORE_REASONS = [
  'vlan-tagged', // tagged frame on the untagged NIC's socket
  'own-frame', // from our own MAC (Ethernet source, ARP sender, NS source link-layer option)
  'not-for-us', // unicast to another MAC
  'ethertype', // neither ARP nor IPv6
  'not-icmpv6', // IPv6 but not ICMPv6
  'not-ndp', // ICMPv6 but not NS/NA
  'arp-reply', // ARP replies are never answered
  'not-owned', // the target is not an address we own
  'bad-sender-mac', // asker's MAC is multicast/zero: no unicast answer is possible
  'na', // an NA for an owned address that agrees with us
] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];

export type Decision =
  | { kind: 'reply'; ip: string; frame: Uint8Array; why: ReplyWhy }
  | { kind: 'conflict'; ip: string; mac: string; why: ConflictWhy }
  | { kind: 'ignore'; reason: IgnoreReason }
  | { kind: 'malformed'; reason: RejectReason };

// Shared immutable results: ignoring a frame allocates nothing.
const IGNORE = Object.fromEntries(IGNORE_REASONS.map((r) => [r, Object.freeze({ kind: 'ignore', reason: r })])) as Record<
  IgnoreReason,
  Decision
>;

export function respond(frame: Uint8Array, nic: NicIdentity, owned: (ip: string) => boolean): Decision {
  const eth = ethernet.decode(frame);
  if (!eth.ok) return eth.reason === 'vlan-tagged' ? IGNORE['vlan-tagged'] : { kind: 'malformed', reason: eth.reason };
  const { src, dst, ethertype, payload } = eth.value;
  if (macEquals(src, nic.mac)) return IGNORE['own-frame'];
  if (!isMulticastMac(dst) && !macEquals(dst, nic.mac)) return IGNORE['not-for-us'];
  if (ethertype === ETHERTYPE_ARP) return respondArp(payload, nic, owned);
  if (ethertype === ETHERTYPE_IPV6) return respondNdp(src, payload, nic, owned);
  return IGNORE['ethertype'];
}

function respondArp(payload: Uint8Array, nic: NicIdentity, owned: (ip: string) => boolean): Decision {
  const d = arp.decode(payload);
  if (!d.ok) return { kind: 'malformed', reason: d.reason };
  const a = d.value;
  if (macEquals(a.senderMac, nic.mac)) return IGNORE['own-frame'];
  // Any ARP packet whose sender IP is ours but whose sender MAC is not (RFC 5227 §2.4).
  if (!isIPv4Zero(a.senderIp)) {
    const sip = formatIPv4(a.senderIp);
    if (owned(sip)) {
      const why: ConflictWhy = a.op === 2 ? 'arp-reply' : ipEquals(a.senderIp, 0, a.targetIp, 0, 4) ? 'arp-gratuitous' : 'arp-sender-ip';
      return { kind: 'conflict', ip: sip, mac: formatMac(a.senderMac), why };
    }
  }
  if (a.op !== 1) return IGNORE['arp-reply'];
  const tip = formatIPv4(a.targetIp);
  if (!owned(tip)) return IGNORE['not-owned'];
  if (isMulticastMac(a.senderMac) || isZeroMac(a.senderMac)) return IGNORE['bad-sender-mac'];
  // Unicast to the asker; for a probe (sender IP 0.0.0.0) the target IP is 0.0.0.0 too, as Linux does.
  const reply = arpReplyFrame(nic.mac, a.targetIp, a.senderMac, a.senderIp);
  return { kind: 'reply', ip: tip, frame: reply, why: isIPv4Zero(a.senderIp) ? 'arp-probe' : 'arp-request' };
}

const ALL_NODES = allNodesAddress();
const ALL_NODES_MAC = ipv6MulticastMac(ALL_NODES);

function respondNdp(ethSrc: Uint8Array, payload: Uint8Array, nic: NicIdentity, owned: (ip: string) => boolean): Decision {
  const d = ndp.decode(payload);
  if (!d.ok) {
    if (d.reason === 'not-icmpv6' || d.reason === 'not-ndp') return IGNORE[d.reason];
    return { kind: 'malformed', reason: d.reason };
  }
  const m = d.value;
  if (m.type === 'na') {
    const target = formatIPv6(m.target);
    if (!owned(target)) return IGNORE['not-owned'];
    const claimed = m.targetLinkLayer ?? ethSrc;
    if (macEquals(claimed, nic.mac)) return IGNORE['na'];
    return { kind: 'conflict', ip: target, mac: formatMac(claimed), why: 'na' };
  }

  const dad = isIPv6Unspecified(m.src);
  const asker = m.sourceLinkLayer ?? ethSrc;
  // A solicitation whose source link-layer option is our own MAC (spoofed, or our own looped back
  // through a bridge that rewrote the Ethernet source) asks us to answer ourselves: the unicast NA
  // would go to our own MAC. Linux answers it anyway (and caches the asker at its own MAC); like an
  // ARP packet with our sender MAC, we drop it, which is also what the fast path (ndp-fast.ts) does.
  if (macEquals(asker, nic.mac)) return IGNORE['own-frame'];
  if (!dad) {
    const srcIp = formatIPv6(m.src);
    if (owned(srcIp)) return { kind: 'conflict', ip: srcIp, mac: formatMac(asker), why: 'ns-source' };
  }
  const target = formatIPv6(m.target);
  if (!owned(target)) return IGNORE['not-owned'];
  const vip = m.target.slice(); // the reply must not alias the receive buffer
  if (dad) {
    // Someone wants our address: defend it to all nodes (RFC 4861 §7.2.4), S=0 as the asker has no address yet.
    const frame = ndpFrame(ALL_NODES_MAC, nic.mac, {
      type: 'na', src: vip, dst: ALL_NODES, hopLimit: NDP_HOP_LIMIT, target: vip,
      router: false, solicited: false, override: true, targetLinkLayer: nic.mac,
    });
    return { kind: 'reply', ip: target, frame, why: 'ns-dad' };
  }
  if (isMulticastMac(asker) || isZeroMac(asker)) return IGNORE['bad-sender-mac'];
  const frame = ndpFrame(asker, nic.mac, {
    type: 'na', src: vip, dst: m.src, hopLimit: NDP_HOP_LIMIT, target: vip,
    router: false, solicited: true, override: true, targetLinkLayer: nic.mac,
  });
  return { kind: 'reply', ip: target, frame, why: isIPv6Multicast(m.dst) ? 'ns' : 'ns-nud' };
}
