// The plain input for one Service, mapped by the controller from the Kubernetes object, and the
// opt-in rule (which Services are ours).
import { type Family, type IP, parseIP } from '../net/ip.ts';

export const LB_ANNOTATION = 'lb.kubesphere.io/v1alpha1';
export const LB_ANNOTATION_VALUE = 'openelb';
export const LB_CLASS = 'openelb.kubesphere.io/layer2';
/** Names the Eip(s) to draw from. Also the label we put on Services that hold an address. */
export const EIP_ANNOTATION = 'eip.openelb.kubesphere.io/v1alpha2';
/** Requests specific IP(s); wins over spec.loadBalancerIP. */
export const IP_ANNOTATION = 'eip.openelb.kubesphere.io/v1alpha1';
/** Accepted and ignored (the Eip's protocol decides). */
export const LEGACY_PROTOCOL_ANNOTATION = 'protocol.openelb.kubesphere.io/v1alpha1';
export const SERVICE_FINALIZER = 'finalizer.lb.kubesphere.io/v1alpha1';
export const EIP_FINALIZER = 'finalizer.ipam.kubesphere.io/v1alpha1';

export type IPFamilyName = 'IPv4' | 'IPv6';
export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  port: number;
  /** TCP when absent (the Kubernetes default). */
  protocol?: string;
}

export interface ServiceRequest {
  /** "namespace/name": the key used in Eip status `used` and in every result. */
  key: string;
  namespace: string;
  creationTimestamp?: string;
  annotations?: Record<string, string>;
  /** spec.type */
  type: string;
  loadBalancerClass?: string;
  loadBalancerIP?: string;
  ipFamilies?: IPFamilyName[];
  ipFamilyPolicy?: IPFamilyPolicy;
  ports: ServicePort[];
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** IPs from status.loadBalancer.ingress[].ip (what the API says the Service holds now). */
  assigned?: string[];
  /** Value of our label eip.openelb.kubesphere.io/v1alpha2 (which Eip the address came from), if any. */
  assignedEip?: string;
  /**
   * The Service carries our finalizer or label, i.e. we assigned its address. A Service that is no
   * longer ours is released only when this is true, so we never clear another controller's status.
   */
  managed?: boolean;
  /** metadata.deletionTimestamp is set. */
  deleting?: boolean;
}

/**
 * Opt-in: type LoadBalancer and (our loadBalancerClass, or no class and the annotation
 * `lb.kubesphere.io/v1alpha1: openelb`). Any other loadBalancerClass is never ours, annotation or not.
 * A Service being deleted is not ours any more (its addresses are released).
 */
export function isOurs(svc: ServiceRequest): boolean {
  if (svc.type !== 'LoadBalancer' || svc.deleting) return false;
  const cls = svc.loadBalancerClass ?? '';
  if (cls !== '') return cls === LB_CLASS;
  return svc.annotations?.[LB_ANNOTATION] === LB_ANNOTATION_VALUE;
}

function splitList(v: string | undefined): string[] {
  if (!v) return [];
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Requested IPs as written: the annotation (comma-separated, one per family for dual-stack) wins
 * over spec.loadBalancerIP. Empty when nothing is requested.
 */
export function requestedIPTexts(svc: ServiceRequest): { texts: string[]; source: string } {
  const ann = splitList(svc.annotations?.[IP_ANNOTATION]);
  if (ann.length > 0) return { texts: ann, source: `annotation ${IP_ANNOTATION}` };
  const lb = splitList(svc.loadBalancerIP);
  return { texts: lb, source: 'spec.loadBalancerIP' };
}

/** Eip names from the annotation (comma-separated, so a dual-stack Service can name one per family). */
export function requestedEips(svc: ServiceRequest): string[] {
  return splitList(svc.annotations?.[EIP_ANNOTATION]);
}

export function familyOf(name: IPFamilyName): Family {
  return name === 'IPv6' ? 6 : 4;
}

/**
 * The families the Service needs, in order, and whether all of them are required.
 * Single-stack: spec.ipFamilies[0]; without it, the family of the requested IP, else IPv4.
 * PreferDualStack/RequireDualStack: both families, spec.ipFamilies[0] first.
 */
export function wantedFamilies(svc: ServiceRequest, requested: readonly IP[]): { families: Family[]; requireAll: boolean } {
  const listed = (svc.ipFamilies ?? []).map(familyOf);
  const first: Family = listed[0] ?? requested[0]?.family ?? 4;
  const policy = svc.ipFamilyPolicy ?? 'SingleStack';
  if (policy === 'SingleStack') return { families: [first], requireAll: true };
  return { families: [first, first === 4 ? 6 : 4], requireAll: policy === 'RequireDualStack' };
}

export function parseRequested(texts: readonly string[]): { ips: IP[]; bad: string[] } {
  const ips: IP[] = [];
  const bad: string[] = [];
  for (const t of texts) {
    const ip = parseIP(t);
    if (ip) ips.push(ip);
    else bad.push(t);
  }
  return { ips, bad };
}
