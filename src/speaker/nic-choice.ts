// Which NIC answers ARP/NDP for an Eip on this node: the speaker's rule over the Eip's
// spec.interface, the node annotation and the pool's subnet, decided from the NIC facts that
// src/l2/interfaces.ts reads. Pure; the doctor uses the same function to explain a choice.
import { ARPHRD_ETHER, type NicFacts } from '../l2/interfaces.ts';
import { isConnectedRoute, isUsableRoute, lookupRoute } from '../l2/routes.ts';
import { type Family, ipToString, parseIP } from '../net/ip.ts';

export type NicChoice =
  | { ok: true; nic: string; index: number; mac: string; source: 'annotation' | 'name' | 'can_reach' | 'subnet' }
  | { ok: false; reason: 'NoInterface'; message: string };

export interface NicChoiceInput {
  eipName: string;
  /** The Eip's spec.interface: a NIC name, `can_reach:<IP>`, or empty. */
  interface?: string;
  /** Value of the node annotation layer2.openelb.kubesphere.io/v1alpha1, if set. */
  nodeAnnotationIp?: string;
  /** First address of the pool (any text form). */
  poolFirstIp: string;
  poolFamily: Family;
  /** For messages only. */
  node?: string;
}

export const NODE_NIC_ANNOTATION = 'layer2.openelb.kubesphere.io/v1alpha1';

/**
 * Which NIC answers for the Eip on this node. Precedence (SPEC §1): the node annotation (the
 * NIC holding that IP), else the Eip's `interface` (a name, or `can_reach:<IP>` = the NIC of
 * the route to that IP, never lo), else the NIC whose connected subnet holds the pool's first
 * IP. The chosen NIC must exist, be up, be Ethernet-type with ARP on, not loopback, and not be
 * enslaved to a bond/bridge (answering on a port is wrong: MetalLB #316).
 */
export function chooseNic(input: NicChoiceInput, facts: NicFacts): NicChoice {
  const where = input.node ? ` on node ${input.node}` : '';
  const eip = `Eip ${input.eipName}`;
  const fail = (message: string): NicChoice => ({ ok: false, reason: 'NoInterface', message });
  const byName = new Map(facts.nics.map((n) => [n.name, n]));

  const validate = (name: string, from: string, fix: string, source: 'annotation' | 'name' | 'can_reach' | 'subnet'): NicChoice => {
    const nic = byName.get(name);
    if (!nic) {
      const names = facts.nics.filter((n) => !n.loopback).map((n) => n.name).sort().join(', ');
      return fail(`${eip}: NIC ${name} (${from}) does not exist${where} (NICs: ${names || 'none'}); ${fix}`);
    }
    if (nic.loopback) return fail(`${eip}: NIC ${name} (${from}) is the loopback NIC${where}; nobody on the LAN can reach it; ${fix}`);
    if (nic.type !== ARPHRD_ETHER) {
      return fail(`${eip}: NIC ${name} (${from})${where} is not an Ethernet NIC (hardware type ${nic.type}); ARP/NDP need one; ${fix}`);
    }
    if (nic.noarp) {
      return fail(`${eip}: NIC ${name} (${from})${where} has ARP turned off (NOARP, like kube-ipvs0); choose the NIC attached to the pool's network; ${fix}`);
    }
    if (nic.enslaved) {
      return fail(
        `${eip}: NIC ${name} (${from})${where} is enslaved to ${nic.master}; ARP/NDP must be answered on the master, ` +
          `set the Eip's spec.interface to ${nic.master} (or point the node annotation at an IP on ${nic.master})`,
      );
    }
    if (!nic.up) {
      return fail(`${eip}: NIC ${name} (${from})${where} is down (operstate ${nic.operstate}); bring it up or ${fix}`);
    }
    return { ok: true, nic: nic.name, index: nic.index, mac: nic.mac, source };
  };

  const annotation = input.nodeAnnotationIp?.trim();
  if (annotation) {
    const fix = `set the node annotation ${NODE_NIC_ANNOTATION} to an IP held by the NIC facing the pool's network, or remove it`;
    const ip = parseIP(annotation);
    if (!ip) return fail(`${eip}: node annotation ${NODE_NIC_ANNOTATION}=${JSON.stringify(annotation)}${where} is not an IP address; ${fix}`);
    const text = ipToString(ip.family, ip.value);
    // A link-local address can sit on a bridge and its port alike (same MAC): prefer the NIC that is no port.
    const owners = facts.addresses.filter((a) => a.family === ip.family && a.ip === text);
    const owner = owners.find((a) => byName.get(a.iface)?.enslaved === false) ?? owners[0];
    if (!owner && facts.unattributedV4?.includes(text)) {
      return fail(
        `${eip}: ${text} (node annotation ${NODE_NIC_ANNOTATION}) is an address of node ${input.node ?? '(this node)'}, ` +
          `but its NIC has no connected subnet (the NIC is down, or the address is a /32); bring the NIC up or ${fix}`,
      );
    }
    if (!owner) return fail(`${eip}: no NIC${where} holds ${text} (node annotation ${NODE_NIC_ANNOTATION}); ${fix}`);
    return validate(owner.iface, `holds ${text} from the node annotation ${NODE_NIC_ANNOTATION}`, fix, 'annotation');
  }

  const spec = input.interface?.trim() ?? '';
  if (spec.startsWith('can_reach:')) {
    const target = spec.slice('can_reach:'.length).trim();
    const fix = `fix spec.interface of ${eip} (can_reach:<IP of a host on the pool's network>) or name the NIC`;
    const ip = parseIP(target);
    if (!ip) return fail(`${eip}: spec.interface ${JSON.stringify(spec)} does not hold a valid IP after can_reach:; ${fix}`);
    const text = ipToString(ip.family, ip.value);
    // The kernel reaches a loopback address through lo; our lookup skips lo and would fall
    // through to the default route, naming a NIC that has nothing to do with it.
    if ((ip.family === 4 && ip.value >> 24n === 127n) || (ip.family === 6 && ip.value === 1n)) {
      return fail(`${eip}: spec.interface ${spec} names a loopback address, which is only reachable through lo; ${fix}`);
    }
    const route = lookupRoute(facts.routes, ip, isUsableRoute);
    if (!route) return fail(`${eip}: no route${where} reaches ${text} (spec.interface ${spec}) except through lo; ${fix}`);
    return validate(route.iface, `route to ${text} from spec.interface ${spec}`, fix, 'can_reach');
  }
  if (spec !== '') {
    return validate(spec, `spec.interface`, `fix spec.interface of ${eip}`, 'name');
  }

  const first = parseIP(input.poolFirstIp);
  const fix = `set spec.interface of ${eip} to the NIC name or can_reach:<IP on the pool's network>`;
  if (!first || first.family !== input.poolFamily) {
    return fail(`${eip}: pool first IP ${JSON.stringify(input.poolFirstIp)} is not an IPv${input.poolFamily} address`);
  }
  const firstText = ipToString(first.family, first.value);
  const route = lookupRoute(facts.routes, first, isConnectedRoute);
  if (!route) {
    return fail(`${eip}: the pool's first IP ${firstText} is in no subnet directly connected to a NIC${where}; ${fix}`);
  }
  return validate(route.iface, `its subnet ${route.dest}/${route.prefixLen} holds ${firstText}`, fix, 'subnet');
}
