// Converting between the API's Lease object and lease-rules' LeaseRecord. Two client-node 2.0
// traps live here:
//   - Writing: MicroTime fields must carry exactly 6 fractional digits or the API server answers
//     400. A plain Date serialises with 3, so we write the text ourselves (toMicroTime); the
//     typings say Date, the wire says string.
//   - Reading: client-node has no deserialiser for V1MicroTime, so renewTime/acquireTime come
//     back as strings despite the typings, and from the watch they are strings anyway.
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { type LeaseRecord, parseMicroTime, toMicroTime } from './lease-rules.ts';

function toDate(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v === 'string') return parseMicroTime(v);
  return undefined;
}

/** What lease-rules needs from a Lease object. */
export function leaseRecordOf(lease: V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  const r: LeaseRecord = {};
  if (s.holderIdentity) r.holder = s.holderIdentity;
  if (s.leaseDurationSeconds !== undefined) r.leaseDurationSeconds = s.leaseDurationSeconds;
  const acquire = toDate(s.acquireTime);
  if (acquire) r.acquireTime = acquire;
  const renew = toDate(s.renewTime);
  if (renew) r.renewTime = renew;
  if (s.leaseTransitions !== undefined) r.transitions = s.leaseTransitions;
  if (lease.metadata?.resourceVersion) r.resourceVersion = lease.metadata.resourceVersion;
  return r;
}

const micro = (d: Date | undefined): Date | undefined => (d ? (toMicroTime(d) as unknown as Date) : undefined);

/** The spec to write for `r` (times as 6-digit MicroTime). */
export function leaseSpecOf(r: LeaseRecord): V1LeaseSpec {
  const spec: V1LeaseSpec = { holderIdentity: r.holder ?? '' };
  if (r.leaseDurationSeconds !== undefined) spec.leaseDurationSeconds = r.leaseDurationSeconds;
  const a = micro(r.acquireTime);
  if (a) spec.acquireTime = a;
  const rn = micro(r.renewTime);
  if (rn) spec.renewTime = rn;
  if (r.transitions !== undefined) spec.leaseTransitions = r.transitions;
  return spec;
}

/**
 * The object to PUT: `base` (as last read or written, so labels/annotations others set survive)
 * with the new spec and the record's resourceVersion as the precondition.
 */
export function leaseForUpdate(
  base: V1Lease,
  r: LeaseRecord,
  annotations?: Record<string, string>,
): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...base.metadata,
      ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: { ...base.spec, ...leaseSpecOf(r) },
  };
}

/** A new Lease object for create. */
export function leaseForCreate(
  namespace: string,
  name: string,
  r: LeaseRecord,
  labels?: Record<string, string>,
  annotations?: Record<string, string>,
): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace,
      ...(labels && Object.keys(labels).length ? { labels } : {}),
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: leaseSpecOf(r),
  };
}
