// The node's ARP sysctls for a pool's NIC: net.ipv4.conf.{all,<nic>}.arp_ignore / arp_announce.
//
// The kernel uses the larger of `all` and the NIC's value for both (Documentation/networking/
// ip-sysctl.rst). They matter when pool addresses are local addresses of the node (kube-proxy
// ipvs binds every LoadBalancer IP to kube-ipvs0): with arp_ignore=0 the kernel answers ARP for
// them on any NIC, on every node, next to our speaker. arp_ignore=1 answers only for addresses
// of the NIC the request came in on; arp_announce=2 keeps those addresses out of the node's
// own ARP requests. These are the values kube-proxy's strictARP sets.
import { type CheckResult, cannotTell, failed, passed } from './result.ts';

export interface ArpConf {
  arpIgnore?: number;
  arpAnnounce?: number;
}

export interface ArpSysctlInput {
  nic: string;
  all: ArpConf;
  /** The NIC's own values; undefined if /proc/sys has no entry (NIC missing). */
  iface: ArpConf | undefined;
  /** kube-proxy mode from its ConfigMap; undefined = unknown. '' = iptables. */
  proxyMode: string | undefined;
  /** Pool addresses that are local addresses of this node right now (e.g. on kube-ipvs0). */
  localPoolIps: readonly string[];
}

/** Parses the text of a /proc/sys integer file; undefined when absent or garbled. */
export function parseSysctlInt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : undefined;
}

export function effective(all: number | undefined, nic: number | undefined): number | undefined {
  if (all === undefined && nic === undefined) return undefined;
  return Math.max(all ?? 0, nic ?? 0);
}

const FIX =
  'set strictARP: true for kube-proxy (it sets these on every node), or on each node: ' +
  'sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 (persist in /etc/sysctl.d/)';

/** The verdict on one NIC's ARP sysctls. Pure. */
export function checkArpSysctls(input: ArpSysctlInput): CheckResult {
  const c = `sysctl ${input.nic}`;
  const ignore = effective(input.all.arpIgnore, input.iface?.arpIgnore);
  const announce = effective(input.all.arpAnnounce, input.iface?.arpAnnounce);
  if (ignore === undefined || announce === undefined) {
    return cannotTell(c, `cannot read net.ipv4.conf.{all,${input.nic}}.arp_ignore/arp_announce from /proc/sys`);
  }
  const values = `arp_ignore=${ignore} arp_announce=${announce}${input.nic === 'all' ? ' (conf/all)' : ` (max of all and ${input.nic})`}`;
  const strict = ignore >= 1 && announce >= 2;
  if (strict) return passed(c, `${values}: the kernel answers ARP only for ${input.nic}'s own addresses`);

  const ipvs = input.proxyMode === 'ipvs';
  if (ipvs || input.localPoolIps.length > 0) {
    const why = input.localPoolIps.length
      ? `pool address${input.localPoolIps.length > 1 ? 'es' : ''} ${input.localPoolIps.slice(0, 4).join(', ')}${input.localPoolIps.length > 4 ? ', ...' : ''} ` +
        `${input.localPoolIps.length > 1 ? 'are local addresses' : 'is a local address'} of this node`
      : 'kube-proxy runs in ipvs mode and binds every LoadBalancer IP on kube-ipvs0';
    return failed(
      c,
      `${values}, and ${why}: this node's kernel answers ARP for ${input.localPoolIps.length === 1 ? 'it' : input.localPoolIps.length ? 'them' : 'those IPs'} on ${input.nic} ` +
        'besides the elected speaker, so clients can learn the wrong MAC',
      FIX,
      values,
    );
  }
  if (input.proxyMode === undefined) {
    return cannotTell(
      c,
      `${values}: fine unless kube-proxy runs in ipvs mode (unknown here) and binds LoadBalancer IPs; no pool address is local on this node now`,
      'check kube-proxy with API access; in ipvs mode set strictARP: true',
    );
  }
  return passed(c, `${values}: fine, kube-proxy ${input.proxyMode || 'iptables'} mode binds no LoadBalancer IPs and no pool address is local here`);
}

/**
 * Which NICs get the ARP sysctl check: those answering for an IPv4 pool. IPv6 has no such weak-host
 * trouble (the kernel answers a Neighbor Solicitation only for addresses of the NIC it came in
 * on), so a NIC with only IPv6 pools is skipped. With no pool at all, `all` is still shown.
 */
export function sysctlTargets(poolFamiliesByNic: ReadonlyMap<string, readonly (4 | 6)[]>, anyPool: boolean): string[] {
  if (!anyPool) return ['all'];
  return [...poolFamiliesByNic].filter(([, fams]) => fams.includes(4)).map(([nic]) => nic);
}
