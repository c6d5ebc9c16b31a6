// Safe reads of metadata and conditions on API objects, typed or plain JSON (informer caches hold
// plain JSON; CustomObjectsApi returns untyped objects). Every field of an object from the API
// may be missing; these helpers make "missing" a value instead of a crash. Pure.

export interface MetaLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string> | undefined;
    labels?: Record<string, string> | undefined;
    finalizers?: string[] | undefined;
    deletionTimestamp?: unknown;
  };
}

export const annotation = (o: MetaLike | undefined, key: string): string | undefined => o?.metadata?.annotations?.[key];

export const label = (o: MetaLike | undefined, key: string): string | undefined => o?.metadata?.labels?.[key];

export const hasFinalizer = (o: MetaLike | undefined, f: string): boolean => (o?.metadata?.finalizers ?? []).includes(f);

export const isDeleting = (o: MetaLike | undefined): boolean => Boolean(o?.metadata?.deletionTimestamp);

/** `namespace/name` or `name`: the same key the informers use. */
export const keyOf = (o: MetaLike): string =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata?.name ?? '');

/** Finalizer list with `f` added (same array contents if present), for a merge patch. */
export function withFinalizer(o: MetaLike, f: string): string[] {
  const list = o.metadata?.finalizers ?? [];
  return list.includes(f) ? [...list] : [...list, f];
}

/** Finalizer list without `f`, for a merge patch. */
export function withoutFinalizer(o: MetaLike, f: string): string[] {
  return (o.metadata?.finalizers ?? []).filter((x) => x !== f);
}

/** metav1.Condition (the standard shape for status.conditions). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export function findCondition(conds: readonly Condition[] | undefined, type: string): Condition | undefined {
  return (conds ?? []).find((c) => c.type === type);
}

/** Node-style conditions (NetworkUnavailable, Ready): `status` of `type`, undefined if absent. */
export function conditionStatus(
  conds: ReadonlyArray<{ type?: string; status?: string }> | undefined,
  type: string,
): string | undefined {
  return (conds ?? []).find((c) => c.type === type)?.status;
}

/**
 * Conditions with `c` set, metav1 semantics: lastTransitionTime changes only when status
 * changes, so rewriting the same condition every reconcile is a no-op (`changed` false) and
 * causes no write.
 */
export function setCondition(
  conds: readonly Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): { conditions: Condition[]; changed: boolean } {
  const list = [...(conds ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  if (
    old &&
    old.status === c.status &&
    old.reason === c.reason &&
    old.message === c.message &&
    old.observedGeneration === c.observedGeneration
  ) {
    return { conditions: list, changed: false };
  }
  const next: Condition = {
    ...c,
    lastTransitionTime:
      old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (next.observedGeneration === undefined) delete next.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return { conditions: list, changed: true };
}
