// IP sharing: several Services may hold one IP when their ports (port + protocol) do not overlap
// and all of them use externalTrafficPolicy: Cluster (with Local, the answering node depends on one
// Service's endpoints, which cannot serve the others).
import type { ServicePort, ServiceRequest } from './service-request.ts';

export type SharingParty = Pick<ServiceRequest, 'key' | 'ports' | 'externalTrafficPolicy'>;

export type ShareVerdict = { ok: true } | { ok: false; reason: 'SharingLocalPolicy' | 'PortConflict'; message: string };

function portKey(p: ServicePort): string {
  return `${p.port}/${(p.protocol ?? 'TCP').toUpperCase()}`;
}

function policy(s: SharingParty): 'Cluster' | 'Local' {
  return s.externalTrafficPolicy ?? 'Cluster';
}

/**
 * May `candidate` share `ip` with the Services that hold it now? Holders are checked in the order
 * given; the message names the first holder in the way and the fix.
 */
export function canShare(ip: string, holders: readonly SharingParty[], candidate: SharingParty): ShareVerdict {
  if (holders.length === 0) return { ok: true };
  if (policy(candidate) === 'Local') {
    const h = holders[0] as SharingParty;
    return {
      ok: false,
      reason: 'SharingLocalPolicy',
      message: `${ip} is held by Service ${h.key}; Service ${candidate.key} uses externalTrafficPolicy: Local, and Services can share an IP only when all use Cluster: set externalTrafficPolicy: Cluster or request another IP`,
    };
  }
  const mine = new Set(candidate.ports.map(portKey));
  for (const h of holders) {
    if (policy(h) === 'Local') {
      return {
        ok: false,
        reason: 'SharingLocalPolicy',
        message: `${ip} is held by Service ${h.key}, which uses externalTrafficPolicy: Local; Services can share an IP only when all use Cluster: request another IP for ${candidate.key} or set ${h.key} to Cluster`,
      };
    }
    for (const p of h.ports) {
      const k = portKey(p);
      if (mine.has(k)) {
        return {
          ok: false,
          reason: 'PortConflict',
          message: `${ip} is held by Service ${h.key}, which already uses port ${k}: change the port of ${candidate.key} or request another IP`,
        };
      }
    }
  }
  return { ok: true };
}
