// The Layer 2 decisions of one speaker, pure: which NIC serves each Eip here, which IPs this node
// announces (and whether each must be probed first), and what the Services should say about who
// answers. The controller (layer2-controller.ts) feeds informer caches, membership and NIC facts
// in and carries the results out to the announcer and the API.
import type { NicFacts } from '../l2/interfaces.ts';
import { type NicChoice, chooseNic } from './nic-choice.ts';
import type { Election, Member } from './election.ts';
import type { Layer2Pool, ServiceView } from './layer2-inputs.ts';

/** Service annotation naming the node and NIC that answer for its (first) IP: `<node>/<nic>`. */
export const ANNOUNCER_ANNOTATION = 'layer2.openelb.kubesphere.io/announcer';
/** Annotation value while nobody may announce the IP (the Warning event says why). */
export const NO_ANNOUNCER = 'none';
/** Event reasons. */
export const EVENT_NODE_ASSIGNED = 'nodeAssigned';
export const EVENT_NO_ANNOUNCER = 'NoAnnouncer';
export const EVENT_IP_CONFLICT = 'IPConflict';

// ---------------------------------------------------------------------------------------
// NIC per Eip on this node

export interface NicPlan {
  byEip: Map<string, NicChoice>;
  /** Eips with no usable NIC here (published in our membership Lease so peers elect around us). */
  cannotServe: string[];
}

export function planNics(pools: readonly Layer2Pool[], facts: NicFacts, node: string, nodeAnnotationIp: string | undefined): NicPlan {
  const byEip = new Map<string, NicChoice>();
  const cannotServe: string[] = [];
  for (const p of pools) {
    const choice = chooseNic(
      {
        eipName: p.name,
        interface: p.interface,
        ...(nodeAnnotationIp ? { nodeAnnotationIp } : {}),
        poolFirstIp: p.firstIp,
        poolFamily: p.family,
        node,
      },
      facts,
    );
    byEip.set(p.name, choice);
    if (!choice.ok) cannotServe.push(p.name);
  }
  return { byEip, cannotServe: cannotServe.sort() };
}

/**
 * Election members from the alive set. Our own cannot-serve set is taken from the local plan, not
 * from our Lease as last seen: the Lease write lags, and we must never pick ourselves for an Eip
 * we just found we cannot serve.
 */
export function electionMembers(
  alive: Iterable<string>,
  self: string,
  ownCannotServe: readonly string[],
  cannotServeOf: (node: string) => ReadonlySet<string>,
): Member[] {
  return [...alive].sort().map((node) => ({
    node,
    cannotServe: node === self ? new Set(ownCannotServe) : cannotServeOf(node),
  }));
}

// ---------------------------------------------------------------------------------------
// What this node announces

export interface Announcement {
  nic: string;
  /**
   * Probe for a conflicting host before answering. True only for an IP nobody announced before
   * (new Service IP, or an IP that had no eligible node): a takeover from another node must not
   * wait for a probe (the failover bound), and that node may still be answering for a moment.
   */
  probe: boolean;
}

export interface DesiredInput {
  self: string;
  elections: ReadonlyMap<string, Election>;
  eipOf: ReadonlyMap<string, string>;
  nics: ReadonlyMap<string, NicChoice>;
  /** Last round's elections; undefined on the first round after start (then nothing is probed:
   * after a restart the IPs we win were announced by someone until a moment ago). */
  previous: ReadonlyMap<string, Election> | undefined;
}

/** The exact set of IPs this node answers for (canonical IP -> NIC and probe flag). */
export function desiredAnnouncements(input: DesiredInput): Map<string, Announcement> {
  const out = new Map<string, Announcement>();
  for (const [ip, e] of input.elections) {
    if (e.node !== input.self) continue;
    const eip = input.eipOf.get(ip);
    const nic = eip === undefined ? undefined : input.nics.get(eip);
    if (!nic || !nic.ok) continue; // the election already excludes us then; belt and braces
    const prev = input.previous?.get(ip);
    const probe = input.previous !== undefined && (prev === undefined || prev.node === undefined);
    out.set(ip, { nic: nic.nic, probe });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Visibility: a Service annotation and an event, written once per change by one writer

/**
 * The annotation key for one IP of a Service: ANNOUNCER_ANNOTATION for its first ingress IP; for
 * the other IP of a dual-stack Service, `<ANNOUNCER_ANNOTATION>-ipv4|-ipv6` (each IP may have its
 * own announcer, and each announcer writes only its own key).
 */
export function announcerAnnotationKey(svc: ServiceView, ip: string): string {
  if (svc.ips[0] === ip || svc.ips.length <= 1) return ANNOUNCER_ANNOTATION;
  return `${ANNOUNCER_ANNOTATION}-${ip.includes(':') ? 'ipv6' : 'ipv4'}`;
}

export interface VisibilityAction {
  service: ServiceView;
  ip: string;
  annotationKey: string;
  annotationValue: string;
  /** The annotation differs from what the Service has (else only the event, which the recorder dedupes). */
  needsPatch: boolean;
  event: { type: 'Normal' | 'Warning'; reason: string; message: string };
}

export interface VisibilityInput {
  self: string;
  elections: ReadonlyMap<string, Election>;
  servicesOf: ReadonlyMap<string, readonly ServiceView[]>;
  /** IPs this node answers for now (announcer state probing/announcing), with their NIC. */
  answering: ReadonlyMap<string, string>;
  /** This node writes for IPs nobody may announce (one writer: the lowest-named alive speaker). */
  unownedWriter: boolean;
}

/**
 * Annotation writes (each with its event) that would bring the Services in line. Only the node
 * answering for an IP writes about it, so writes happen once per change of owner or NIC, and none
 * in steady state (the value is already there).
 */
export function visibilityActions(input: VisibilityInput): VisibilityAction[] {
  const out: VisibilityAction[] = [];
  for (const [ip, e] of input.elections) {
    const services = input.servicesOf.get(ip) ?? [];
    if (e.node === input.self) {
      const nic = input.answering.get(ip);
      if (!nic) continue; // probing, conflict or no NIC: nothing true to say yet
      const value = `${input.self}/${nic}`;
      for (const s of services) {
        const key = announcerAnnotationKey(s, ip);
        if (s.annotations[key] === value) continue;
        out.push({
          service: s,
          ip,
          annotationKey: key,
          annotationValue: value,
          needsPatch: true,
          event: {
            type: 'Normal',
            reason: EVENT_NODE_ASSIGNED,
            message: `announcing ${ip} from node ${input.self} on NIC ${nic}`,
          },
        });
      }
    } else if (e.node === undefined && input.unownedWriter) {
      for (const s of services) {
        const key = announcerAnnotationKey(s, ip);
        out.push({
          service: s,
          ip,
          annotationKey: key,
          annotationValue: NO_ANNOUNCER,
          needsPatch: s.annotations[key] !== NO_ANNOUNCER,
          event: { type: 'Warning', reason: EVENT_NO_ANNOUNCER, message: `no node announces ${ip}: ${e.reason}` },
        });
      }
    }
  }
  return out;
}

/** The one speaker that reports IPs nobody may announce: the lowest-named alive one. */
export function isUnownedWriter(self: string, alive: Iterable<string>): boolean {
  let lowest: string | undefined;
  for (const n of alive) if (lowest === undefined || n < lowest) lowest = n;
  return lowest === self;
}
