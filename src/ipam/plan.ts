// The top-level pure function: the whole desired IPAM state from what the API holds.
// The controller calls it on start and on leader change (and may keep the returned state to apply
// single changes incrementally with IpamState.upsertService/removeService/setEips).
import { IpamState, compareServices, type PlanInput, type PlanResult } from './state.ts';

/**
 * 1. Restore every Service's already-assigned IPs (status.loadBalancer.ingress), never re-drawing.
 * 2. List where the input Eip status disagreed with what the Services show (the repairs). Now,
 *    before any decision: a fresh allocation for a waiting Service is not missing from the Eip,
 *    it is new, and a release is not a disagreement.
 * 3. Decide every Service in a deterministic order (creationTimestamp, then "ns/name"): keep what
 *    fits, allocate for the pending, release for those no longer ours.
 * 4. Compute every Eip's status in OpenELB's shape.
 */
export function reconcileAll(input: PlanInput): PlanResult & { state: IpamState } {
  const state = new IpamState(input.pools, input.namespaces);
  const ordered = [...input.services].sort(compareServices);
  for (const svc of ordered) state.restore(svc);
  const repairs = input.pools.flatMap((p) => state.eipDrift(p.name));
  const services = new Map<string, ReturnType<IpamState['decide']>>();
  for (const svc of ordered) services.set(svc.key, state.decide(svc.key));
  const pools = state.eipStatuses();
  state.takeDirtyEips();
  return { services, pools, repairs, state };
}
