// The top-level pure function: the whole desired IPAM state from what the API holds.
// The controller calls it on start and on leader change (and may keep the returned state to apply
// single changes incrementally with IpamState.upsertService/removeService/setEips).
import { IpamState, compareServices, type PlanInput, type PlanResult } from './state.ts';

/**
 * 1. Restore every Service's already-assigned IPs (status.loadBalancer.ingress), never re-drawing.
 * 2. Decide every Service in a deterministic order (creationTimestamp, then "ns/name"): keep what
 *    fits, allocate for the pending, release for those no longer ours.
 * 3. Compute every Eip's status in OpenELB's shape, and list where the input Eip status disagreed.
 */
export function reconcileAll(input: PlanInput): PlanResult & { state: IpamState } {
  const state = new IpamState(input.pools, input.namespaces);
  const ordered = [...input.services].sort(compareServices);
  for (const svc of ordered) state.restore(svc);
  const services = new Map<string, ReturnType<IpamState['decide']>>();
  for (const svc of ordered) services.set(svc.key, state.decide(svc.key));
  const pools = state.eipStatuses();
  const repairs = [...pools.keys()].flatMap((n) => state.eipDrift(n));
  state.takeDirtyEips();
  return { services, pools, repairs, state };
}
