// Upstream OpenELB's metric names (pkg/metrics/metrics.go), published as aliases of ours so
// existing dashboards and alerts keep working. Why aliases and not a rename: our names follow
// Prometheus conventions (openelb_ prefix, _total on counters, one `eip` label name), and theirs
// are unprefixed (`requests_received`, `addresses_total`) and would collide with other exporters
// in a shared Prometheus; both are served so a dashboard can move at its own pace. The aliases are
// computed when scraped from the same series, so they cost nothing on the packet path.
//
// Label differences: upstream labels layer 2 series by `ip` only; ours add `nic`, which the alias
// sums away. Upstream's Eip metrics use `eipName`; ours `eip`. Upstream's BGP metrics (session_up,
// updates_total, announced_prefixes_total, pending_prefixes_total) have no counterpart here: BGP
// mode is not served by openelb-ts (README compatibility table).
import type { Registry } from './metrics.ts';

export interface UpstreamAlias {
  upstream: string;
  ours: string;
  kind: 'counter' | 'gauge';
  labels: Readonly<Record<string, string>>;
  help: string;
}

export const UPSTREAM_METRIC_ALIASES: readonly UpstreamAlias[] = [
  { upstream: 'addresses_total', ours: 'openelb_eip_pool_size', kind: 'gauge', labels: { eip: 'eipName' }, help: 'The eip contains the total number of ips (OpenELB name; alias of openelb_eip_pool_size)' },
  { upstream: 'addresses_in_use_total', ours: 'openelb_eip_usage', kind: 'gauge', labels: { eip: 'eipName' }, help: 'The eip has been assigned the number of ips (OpenELB name; alias of openelb_eip_usage)' },
  { upstream: 'services_allocated_total', ours: 'openelb_eip_services', kind: 'gauge', labels: { eip: 'eipName' }, help: 'Number of services to assign IP addresses from eip (OpenELB name; alias of openelb_eip_services)' },
  { upstream: 'requests_received', ours: 'openelb_l2_requests_received_total', kind: 'counter', labels: { ip: 'ip' }, help: 'The number of arp requests received (OpenELB name; alias of openelb_l2_requests_received_total, summed over nic)' },
  { upstream: 'responses_sent', ours: 'openelb_l2_responses_sent_total', kind: 'counter', labels: { ip: 'ip' }, help: 'The number of arp responses sent (OpenELB name; alias of openelb_l2_responses_sent_total, summed over nic)' },
  { upstream: 'gratuitous_sent', ours: 'openelb_l2_gratuitous_sent_total', kind: 'counter', labels: { ip: 'ip' }, help: 'The number of sent GARPs (OpenELB name; alias of openelb_l2_gratuitous_sent_total, summed over nic)' },
];

export function registerUpstreamAliases(r: Registry): void {
  for (const a of UPSTREAM_METRIC_ALIASES) r.alias(a.upstream, a.help, a.ours, a.kind, a.labels);
}
