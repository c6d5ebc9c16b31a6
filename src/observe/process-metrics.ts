// Gauges of the process itself that a leak shows up in, read at scrape time: the resources that
// keep the event loop alive, by type (Timeout, TCPSocketWrap, FSReqCallback, ...), from Node's
// process.getActiveResourcesInfo(). A timer or socket left behind per Service or per address
// grows these with churn; the lab soak (test/lab/reliability-soak.test.ts) checks their trend.
// Runtimes without the call (Deno may lack it) publish nothing rather than a wrong zero.
import process from 'node:process';
import type { Registry } from './metrics.ts';

export const ACTIVE_RESOURCES_METRIC = 'nodejs_active_resources';

type WithResources = { getActiveResourcesInfo?: () => string[] };

/** Registers the gauges on `registry`; returns the unregister function. */
export function registerProcessMetrics(registry: Registry): () => void {
  const active = registry.gauge(ACTIVE_RESOURCES_METRIC, 'Resources keeping the event loop alive, by type (process.getActiveResourcesInfo)');
  return registry.onCollect(() => {
    const info = (process as WithResources).getActiveResourcesInfo?.();
    if (!info) return;
    const counts = new Map<string, number>();
    for (const type of info) counts.set(type, (counts.get(type) ?? 0) + 1);
    active.removeMatching({}); // types with none left disappear instead of keeping their last count
    for (const [type, n] of counts) active.set({ type }, n);
  });
}
