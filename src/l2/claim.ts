// Which address (if any) a received frame shows ANOTHER host claiming, as one pure function.
// The announcer uses it while probing: with many addresses probing at once (a restart with a
// thousand VIPs) it looks the one claimed address up in its probing set instead of running
// probeAnswered() once per probing address per frame. The rules are probeAnswered()'s
// (announce.ts), and test/unit/l2/claim.test.ts checks the two agree.
import * as ethernet from './ethernet.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.ts';
import * as arp from './arp.ts';
import * as ndp from './ndp.ts';
import { formatMac, macEquals } from './mac.ts';
import { formatIPv4, formatIPv6, isIPv4Zero, isIPv6Unspecified } from '../net/ip.ts';

export interface Claim {
  /** Canonical text of the claimed address. */
  ip: string;
  /** The other host's MAC, lowercase text. */
  mac: string;
}

/**
 * The address a frame shows another host (not `ourMac`) claiming or about to claim:
 * - ARP with a non-zero sender IP: that sender IP (requests, replies, gratuitous ARP);
 * - ARP probe (request from 0.0.0.0): its target IP (RFC 5227 §2.1.1 simultaneous probe);
 * - Neighbor Advertisement: its target, by the target link-layer option or else the frame source;
 * - DAD Neighbor Solicitation (from ::): its target; any other NS: its source address.
 * Null for anything else, for our own frames and for malformed frames. Never throws.
 */
export function claimOf(frame: Uint8Array, ourMac: Uint8Array): Claim | null {
  const eth = ethernet.decode(frame);
  if (!eth.ok || macEquals(eth.value.src, ourMac)) return null;
  const { src: ethSrc, ethertype, payload } = eth.value;
  if (ethertype === ETHERTYPE_ARP) {
    const d = arp.decode(payload);
    if (!d.ok || macEquals(d.value.senderMac, ourMac)) return null;
    const a = d.value;
    if (!isIPv4Zero(a.senderIp)) return { ip: formatIPv4(a.senderIp), mac: formatMac(a.senderMac) };
    if (a.op === 1) return { ip: formatIPv4(a.targetIp), mac: formatMac(a.senderMac) };
    return null;
  }
  if (ethertype === ETHERTYPE_IPV6) {
    const d = ndp.decode(payload);
    if (!d.ok) return null;
    const m = d.value;
    if (m.type === 'na') {
      const claimed = m.targetLinkLayer ?? ethSrc;
      return macEquals(claimed, ourMac) ? null : { ip: formatIPv6(m.target), mac: formatMac(claimed) };
    }
    const asker = m.sourceLinkLayer ?? ethSrc;
    if (macEquals(asker, ourMac)) return null;
    return { ip: formatIPv6(isIPv6Unspecified(m.src) ? m.target : m.src), mac: formatMac(asker) };
  }
  return null;
}
