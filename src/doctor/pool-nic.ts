// For one layer2 pool on this node: which NIC answers for it (the speaker's own choice,
// src/speaker/nic-choice.ts chooseNic: exists, up, Ethernet with ARP, not loopback, not enslaved),
// and whether the pool lies inside a subnet of that NIC. A pool outside the NIC's subnets is
// the classic silent failure: clients never ARP for an address outside their own subnet, they
// hand it to their router, so our answers are never asked for (seed 000: "The IP addresses
// specified in spec:address must be on the same network segment as the Kubernetes cluster nodes").
import { formatRange, parseAddressSpec, type ParsedAddress } from '../ipam/range.ts';
import { inPrefix, ipToString } from '../net/ip.ts';
import type { NicFacts } from '../l2/interfaces.ts';
import { chooseNic } from '../speaker/nic-choice.ts';
import { isConnectedRoute } from '../l2/routes.ts';
import { type CheckResult, failed, passed } from './result.ts';

export interface PoolInput {
  /** Eip name, or a label like `--address` for a pool given on the command line. */
  name: string;
  /** spec.address: IP, CIDR or range. */
  address: string;
  /** spec.interface: NIC name, can_reach:<IP>, or empty. */
  interface?: string;
  /** Given by --address/--interface, not an Eip: fixes name the flags. */
  fromFlags?: boolean;
}

/** Rewrites Eip wording into flag wording for a pool given on the command line. */
function forFlags(r: CheckResult): CheckResult {
  const re = (s: string) =>
    s
      .replace(/(fix |set |point )?(the Eip's )?spec\.interface( of Eip --address(\[\d+\])?)?/g, (_m, verb: string | undefined) => `${verb ?? ''}--interface`)
      .replace(/spec\.address of --address(\[\d+\])?/g, '--address')
      .replace(/Eip (--address(\[\d+\])?)/g, 'pool $1');
  return { ...r, detail: re(r.detail), ...(r.problem ? { problem: re(r.problem) } : {}), ...(r.fix ? { fix: re(r.fix) } : {}) };
}

export interface PoolNicInput {
  pool: PoolInput;
  facts: NicFacts;
  node?: string;
  /** Value of the node annotation layer2.openelb.kubesphere.io/v1alpha1, when known. */
  nodeAnnotationIp?: string;
}

export interface PoolNicVerdict {
  results: CheckResult[];
  /** The NIC chosen for the pool, when one could be chosen. */
  nic?: string;
  range?: ParsedAddress;
}

/** Subnets (connected routes) of `nic` in the pool's family, as `dest/len`, with the parsed route. */
function subnetsOf(facts: NicFacts, nic: string, family: 4 | 6) {
  return facts.routes.filter((r) => r.iface === nic && r.family === family && isConnectedRoute(r) && !(family === 6 && r.dest.startsWith('fe80:')));
}

/** The NIC and subnet checks for one pool. Pure over NIC facts. */
export function checkPoolNic(input: PoolNicInput): PoolNicVerdict {
  const v = checkPoolNicAsEip(input);
  return input.pool.fromFlags ? { ...v, results: v.results.map(forFlags) } : v;
}

function checkPoolNicAsEip(input: PoolNicInput): PoolNicVerdict {
  const { pool, facts } = input;
  const label = `pool ${pool.name}`;
  const parsed = parseAddressSpec(pool.address);
  if (!parsed.ok) {
    return { results: [failed(label, `${pool.name}: ${parsed.message}`, `fix spec.address of ${pool.name}`)] };
  }
  const range = parsed.value;
  const shown = formatRange(range);
  const choice = chooseNic(
    {
      eipName: pool.name,
      ...(pool.interface !== undefined ? { interface: pool.interface } : {}),
      ...(input.nodeAnnotationIp !== undefined ? { nodeAnnotationIp: input.nodeAnnotationIp } : {}),
      poolFirstIp: ipToString(range.family, range.first),
      poolFamily: range.family,
      ...(input.node ? { node: input.node } : {}),
    },
    facts,
  );
  const nicCheck = `nic ${pool.name}`;
  if (!choice.ok) {
    // chooseNic's message names the object and ends with the fix; split it for the report.
    const [what, ...fix] = choice.message.split('; ');
    return { results: [failed(nicCheck, what ?? choice.message, fix.join('; ') || `fix spec.interface of ${pool.name}`)], range };
  }
  const results: CheckResult[] = [
    passed(nicCheck, `${pool.name} (${shown}) is answered on ${choice.nic} (${choice.mac}, chosen by ${choice.source}): exists, up, not enslaved`),
  ];

  const subnetCheck = `subnet ${pool.name}`;
  const subnets = subnetsOf(facts, choice.nic, range.family);
  const first = { family: range.family, value: range.first };
  const last = { family: range.family, value: range.last };
  const holder = subnets.find((r) => inPrefix(first, r.family, r.network, r.prefixLen) && inPrefix(last, r.family, r.network, r.prefixLen));
  if (holder) {
    results.push(passed(subnetCheck, `${shown} lies inside ${choice.nic}'s subnet ${holder.dest}/${holder.prefixLen}`));
  } else {
    const list = subnets.map((r) => `${r.dest}/${r.prefixLen}`).join(', ');
    const partly = subnets.find((r) => inPrefix(first, r.family, r.network, r.prefixLen) || inPrefix(last, r.family, r.network, r.prefixLen));
    const what = partly
      ? `${shown} reaches beyond ${choice.nic}'s subnet ${partly.dest}/${partly.prefixLen}`
      : subnets.length
        ? `${shown} is outside every subnet of ${choice.nic} (${list})`
        : `${choice.nic} has no IPv${range.family} subnet, so ${shown} cannot be inside one`;
    results.push(
      failed(
        subnetCheck,
        `${what}: clients on that network send traffic for addresses outside their subnet to their router instead of asking by ARP/NDP, so nobody asks the speaker`,
        subnets.length
          ? `choose spec.address of ${pool.name} inside ${list}, or point spec.interface at the NIC on the pool's network`
          : `give ${choice.nic} an address in the pool's network, or point spec.interface at the NIC on that network`,
      ),
    );
  }
  return { results, nic: choice.nic, range };
}

/** Pool addresses that are local addresses of this node now (kube-ipvs0 and the like). Pure. */
export function localPoolIps(facts: NicFacts, range: ParsedAddress): string[] {
  const locals = [...facts.addresses.map((a) => a.ip), ...(facts.unattributedV4 ?? [])];
  const out = new Set<string>();
  for (const text of locals) {
    const ip = parseAddressSpec(text);
    if (!ip.ok || ip.value.family !== range.family || ip.value.size !== 1n) continue;
    if (ip.value.first >= range.first && ip.value.first <= range.last) out.add(ipToString(range.family, ip.value.first));
  }
  return [...out];
}
