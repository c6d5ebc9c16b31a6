// Pool and address choice for one address family of one Service (SPEC.md §1, Services, "Pool choice"):
//   1. annotation eip.openelb.kubesphere.io/v1alpha2: <eip> (only the named Eips, no fallback);
//   2. else the Eip that holds the requested IP (annotation v1alpha1 wins over spec.loadBalancerIP);
//   3. else Eips that allow the Service's namespace (spec.namespaces / namespaceSelector), by
//      priority (lower first), then name; a full one is skipped (OpenELB would stop there);
//   4. else the default Eip of that family;
//   5. else a failure whose message says why and how to fix it.
// The legacy annotation protocol.openelb.kubesphere.io/v1alpha1 is accepted and ignored (SPEC.md §1,
// Services): the Eip's protocol decides how an address is announced, so a Service is never left
// pending over that annotation.
// Pure: everything it needs comes through ChooseContext; it never changes state.
import { type Family, familyName, type IP, ipToString } from '../net/ip.ts';
import { formatRange, rangeContains } from './range.ts';
import { allowsNamespace, DEFAULT_EIP_ANNOTATION, type Pool } from './pool.ts';
import { EIP_ANNOTATION, type ServiceRequest } from './service-request.ts';
import { canShare, type SharingParty } from './sharing.ts';
import type { PoolVerdict } from './validate.ts';

export type ChoiceFailureReason =
  | 'EipNotFound'
  | 'FamilyMismatch'
  | 'RequestedIPNotInEip'
  | 'RequestedIPNotInPool'
  | 'PoolNotUsable'
  | 'PoolExhausted'
  | 'NoPool'
  | 'SharingLocalPolicy'
  | 'PortConflict';

export type Choice =
  | { ok: true; pool: string; family: Family; value: bigint; ip: string; shared: boolean }
  | { ok: false; reason: ChoiceFailureReason; message: string };

export interface ChooseContext {
  /** All pools, oldest first (the order that breaks ties between pools holding one IP). */
  poolsByAge(): readonly Pool[];
  pool(name: string): Pool | undefined;
  verdict(name: string): PoolVerdict | undefined;
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Lowest free address of the pool (free = held by no Service, whatever pool it is attributed to). */
  nextFree(pool: string): bigint | undefined;
  /** Services holding this canonical IP now (other than the one deciding). */
  holders(ip: string, exceptKey: string): readonly SharingParty[];
}

function notUsableMessage(v: PoolVerdict | undefined, name: string): string {
  const blocking = v?.problems.filter((p) => p.blocking) ?? [];
  return blocking.length > 0 ? blocking.map((p) => p.message).join('; ') : `Eip ${name} is not usable`;
}

function exhausted(p: Pool): Choice {
  const r = p.address.ok ? p.address.value : undefined;
  const range = r ? ` (${formatRange(r)}, ${r.size} addresses)` : '';
  return {
    ok: false,
    reason: 'PoolExhausted',
    message: `Eip ${p.name}${range} has no free address: release a Service, enlarge its spec.address, or add another Eip`,
  };
}

function takeRequested(ctx: ChooseContext, svc: ServiceRequest, p: Pool, ip: IP): Choice {
  const text = ipToString(ip.family, ip.value);
  const v = ctx.verdict(p.name);
  if (!v?.allocatable) return { ok: false, reason: 'PoolNotUsable', message: `requested ${text} is in Eip ${p.name}, which is not usable: ${notUsableMessage(v, p.name)}` };
  const holders = ctx.holders(text, svc.key);
  const share = canShare(text, holders, svc);
  if (!share.ok) return share;
  return { ok: true, pool: p.name, family: ip.family, value: ip.value, ip: text, shared: holders.length > 0 };
}

function takeNext(ctx: ChooseContext, p: Pool, family: Family): Choice | undefined {
  const next = ctx.nextFree(p.name);
  if (next === undefined) return undefined;
  return { ok: true, pool: p.name, family, value: next, ip: ipToString(family, next), shared: false };
}

/**
 * Choose the pool and address of `family` for `svc`.
 * `eipNames`: Eips named by the annotation (may be empty). `requested`: the requested IP of this
 * family, if any (the caller has already refused requested IPs of a family the Service does not use).
 */
export function chooseAddress(
  ctx: ChooseContext,
  svc: ServiceRequest,
  family: Family,
  eipNames: readonly string[],
  requested: IP | undefined,
  requestedSource = 'the request',
): Choice {
  const fam = familyName(family);

  if (eipNames.length > 0) {
    const named: Pool[] = [];
    for (const n of eipNames) {
      const p = ctx.pool(n);
      if (!p) {
        return { ok: false, reason: 'EipNotFound', message: `Service ${svc.key} names Eip ${n} in annotation ${EIP_ANNOTATION}, but there is no such Eip: create it or fix the annotation` };
      }
      named.push(p);
    }
    const ofFamily = named.filter((p) => p.address.ok && p.address.value.family === family);
    if (ofFamily.length === 0) {
      const desc = named.map((p) => (p.address.ok ? `${p.name} is ${familyName(p.address.value.family)}` : `${p.name} has an invalid spec.address`)).join(', ');
      return { ok: false, reason: 'FamilyMismatch', message: `Service ${svc.key} needs an ${fam} address but annotation ${EIP_ANNOTATION} names no ${fam} Eip (${desc}): name an ${fam} Eip (comma-separated, one per family)` };
    }
    if (requested) {
      const text = ipToString(requested.family, requested.value);
      const p = ofFamily.find((x) => x.address.ok && rangeContains(x.address.value, requested));
      if (!p) {
        const ranges = ofFamily.map((x) => `${x.name} (${x.address.ok ? formatRange(x.address.value) : '?'})`).join(', ');
        return { ok: false, reason: 'RequestedIPNotInEip', message: `Service ${svc.key} requests ${text} (${requestedSource}), which is not in the Eip it names: ${ranges}: request an address inside that Eip or name the Eip that holds ${text}` };
      }
      return takeRequested(ctx, svc, p, requested);
    }
    let failure: Choice | undefined;
    for (const p of ofFamily) {
      const v = ctx.verdict(p.name);
      if (!v?.allocatable) {
        failure ??= { ok: false, reason: 'PoolNotUsable', message: `Service ${svc.key} names Eip ${p.name}, which is not usable: ${notUsableMessage(v, p.name)}` };
        continue;
      }
      const c = takeNext(ctx, p, family);
      if (c) return c;
      failure ??= exhausted(p);
    }
    return failure as Choice;
  }

  if (requested) {
    const text = ipToString(requested.family, requested.value);
    const containing = ctx.poolsByAge().filter((p) => p.address.ok && rangeContains(p.address.value, requested));
    if (containing.length === 0) {
      return { ok: false, reason: 'RequestedIPNotInPool', message: `Service ${svc.key} requests ${text} (${requestedSource}), which is in no Eip: request an address inside an Eip's spec.address, or create an Eip that holds ${text}` };
    }
    const usable = containing.find((p) => ctx.verdict(p.name)?.allocatable) ?? (containing[0] as Pool);
    return takeRequested(ctx, svc, usable, requested);
  }

  const labels = ctx.namespaceLabels(svc.namespace);
  const allowed = ctx
    .poolsByAge()
    .filter((p) => p.address.ok && p.address.value.family === family && ctx.verdict(p.name)?.allocatable && allowsNamespace(p, svc.namespace, labels))
    .sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of allowed) {
    const c = takeNext(ctx, p, family);
    if (c) return c;
  }

  const def = ctx.poolsByAge().find((p) => ctx.verdict(p.name)?.effectiveDefault && p.address.ok && p.address.value.family === family);
  if (def) {
    if (!ctx.verdict(def.name)?.allocatable) {
      return { ok: false, reason: 'PoolNotUsable', message: `the default ${fam} Eip ${def.name} is not usable: ${notUsableMessage(ctx.verdict(def.name), def.name)}` };
    }
    const c = takeNext(ctx, def, family);
    if (c) return c;
    if (allowed.length > 0) {
      return { ok: false, reason: 'PoolExhausted', message: `every ${fam} Eip for namespace ${svc.namespace} (${allowed.map((p) => p.name).join(', ')}) and the default Eip ${def.name} is full: release a Service, enlarge an Eip, or add another Eip` };
    }
    return exhausted(def);
  }
  if (allowed.length > 0) {
    return { ok: false, reason: 'PoolExhausted', message: `every ${fam} Eip for namespace ${svc.namespace} (${allowed.map((p) => p.name).join(', ')}) is full and there is no default ${fam} Eip: release a Service, enlarge an Eip, or add another Eip` };
  }
  return {
    ok: false,
    reason: 'NoPool',
    message: `no ${fam} Eip for Service ${svc.key}: no usable Eip lists namespace ${svc.namespace} (spec.namespaces or spec.namespaceSelector) and there is no usable default ${fam} Eip; annotate the Service with ${EIP_ANNOTATION}: <eip>, add ${svc.namespace} to an Eip's spec.namespaces, or mark an Eip with ${DEFAULT_EIP_ANNOTATION}: "true"`,
  };
}
