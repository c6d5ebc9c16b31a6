// Is upstream OpenELB (controller, speaker, admission webhooks) still installed next to us? Both
// would assign IPs to the same Services and answer ARP for them, and upstream's webhook (failure
// policy Fail) blocks Eip and Service writes once its controller is gone (OpenELB #251). Pure:
// facts in, one finding out.
import { cannotTell, failed, passed, type CheckResult } from './result.ts';

export interface WorkloadFact {
  kind: 'Deployment' | 'DaemonSet';
  namespace: string;
  name: string;
  images: string[];
  commands: string[];
}

export interface WebhookFact {
  kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration';
  name: string;
  /** Webhook names and service paths, e.g. validate.eip.network.kubesphere.io, /validate-network-kubesphere-io-v1alpha2-eip. */
  hooks: string[];
}

export type Listed<T> = { kind: 'listed'; items: T[] } | { kind: 'failed'; message: string } | { kind: 'no-api'; why: string };

// kubesphere/openelb-controller, kubesphere/openelb-speaker, kubesphere/openelb-manager,
// kubesphere/porter-manager, kubesphere/porter-agent (older names); not openelb-ts.
const UPSTREAM_IMAGE = /(^|\/)(openelb|porter)-(controller|speaker|manager|agent)(:|@|$)/;
const UPSTREAM_COMMAND = /^(openelb-controller|openelb-speaker|openelb-manager|porter-manager|porter-agent)$/;
const UPSTREAM_HOOK = /kubesphere/;

export function isUpstreamWorkload(w: WorkloadFact): boolean {
  return w.images.some((i) => UPSTREAM_IMAGE.test(i)) || w.commands.some((c) => UPSTREAM_COMMAND.test(c));
}

export function isUpstreamWebhook(w: WebhookFact): boolean {
  return w.hooks.some((h) => UPSTREAM_HOOK.test(h));
}

export function checkUpstream(workloads: Listed<WorkloadFact>, webhooks: Listed<WebhookFact>): CheckResult {
  const check = 'upstream-openelb';
  if (workloads.kind === 'no-api') return cannotTell(check, `cannot look for an upstream OpenELB install: ${workloads.why}`);
  const found: string[] = [];
  const commands: string[] = [];
  if (workloads.kind === 'listed') {
    for (const w of workloads.items.filter(isUpstreamWorkload)) {
      found.push(`${w.kind} ${w.namespace}/${w.name}`);
      commands.push(`kubectl -n ${w.namespace} delete ${w.kind.toLowerCase()} ${w.name}`);
    }
  }
  if (webhooks.kind === 'listed') {
    for (const w of webhooks.items.filter(isUpstreamWebhook)) {
      found.push(`${w.kind} ${w.name}`);
      commands.push(`kubectl delete ${w.kind.toLowerCase()} ${w.name}`);
    }
  }
  const unread = [workloads, webhooks].filter((l): l is { kind: 'failed'; message: string } => l.kind === 'failed').map((l) => l.message);
  if (found.length > 0) {
    return failed(
      check,
      `upstream OpenELB is still installed: ${found.join(', ')}; it assigns IPs and answers ARP for the same Services, and its admission webhook blocks Eip and Service writes once its controller is gone`,
      `remove it (Eips, Services and their IPs stay; see README "Upgrading from OpenELB"): ${commands.join('; ')}`,
    );
  }
  if (unread.length > 0) {
    return cannotTell(check, `cannot tell whether upstream OpenELB is still installed: ${unread.join('; ')}`, 'run `openelb-ts doctor` with a kubeconfig that may list Deployments, DaemonSets and webhook configurations (e.g. a cluster admin\'s)');
  }
  return passed(check, 'no upstream OpenELB controller, speaker or admission webhook found');
}
