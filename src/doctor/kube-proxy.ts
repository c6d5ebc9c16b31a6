// kube-proxy mode and strictARP, from the kube-system/kube-proxy ConfigMap (key config.conf, a
// KubeProxyConfiguration in YAML), as seed 000/001 step "Enable strictARP for kube-proxy" edits it.
//
// Why it matters: in ipvs mode kube-proxy binds every LoadBalancer IP to the kube-ipvs0 dummy on
// every node. With the kernel's default arp_ignore=0 each node then answers ARP for the VIP on its
// LAN NIC, so clients see several MACs and traffic lands anywhere. strictARP makes kube-proxy set
// arp_ignore=1 / arp_announce=2, leaving the answering to the one elected speaker. iptables and
// nftables modes do not bind the IPs, so strictARP does not matter there.
import { loadYaml } from '@kubernetes/client-node';
import { type CheckResult, cannotTell, failed, passed } from './result.ts';

export const CHECK_KUBE_PROXY = 'kube-proxy';

export type KubeProxyMode = 'ipvs' | 'iptables' | 'nftables' | 'kernelspace' | string;

export interface KubeProxyConfig {
  /** As configured; '' (unset) means iptables on Linux. */
  mode: KubeProxyMode;
  /** ipvs.strictARP; undefined when unset (= false). */
  strictARP: boolean | undefined;
}

export type ParsedKubeProxy = { ok: true; value: KubeProxyConfig } | { ok: false; message: string };

/** Parses the config.conf text of the kube-proxy ConfigMap. Pure. */
export function parseKubeProxyConfig(text: string): ParsedKubeProxy {
  let doc: unknown;
  try {
    doc = loadYaml(text);
  } catch (err) {
    return { ok: false, message: `config.conf is not valid YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, message: 'config.conf does not hold a KubeProxyConfiguration object' };
  }
  const d = doc as { mode?: unknown; ipvs?: { strictARP?: unknown } | null };
  const mode = typeof d.mode === 'string' ? d.mode.trim() : '';
  const raw = d.ipvs?.strictARP;
  // YAML 1.1 style "true" strings show up in hand-edited ConfigMaps; kube-proxy rejects them,
  // but we only report, so read them as what the user meant.
  const strictARP = typeof raw === 'boolean' ? raw : typeof raw === 'string' ? /^true$/i.test(raw.trim()) : undefined;
  return { ok: true, value: { mode, strictARP } };
}

/** What the doctor learned about the ConfigMap. */
export type KubeProxySource =
  | { kind: 'found'; data: Record<string, string> | undefined }
  | { kind: 'missing' } // 404
  | { kind: 'forbidden'; message: string }
  | { kind: 'error'; message: string }
  | { kind: 'no-api'; why: string };

const FIX_STRICT =
  'kubectl edit configmap kube-proxy -n kube-system, set ipvs.strictARP: true in data.config.conf, ' +
  'then kubectl rollout restart daemonset kube-proxy -n kube-system';

/** The verdict on kube-proxy. Pure. */
export function checkKubeProxy(src: KubeProxySource): CheckResult {
  const c = CHECK_KUBE_PROXY;
  switch (src.kind) {
    case 'no-api':
      return cannotTell(c, `cannot read the kube-proxy ConfigMap: ${src.why}`, 'run doctor with API access (--kubeconfig) to check mode and strictARP');
    case 'missing':
      return cannotTell(
        c,
        'there is no ConfigMap kube-system/kube-proxy: kube-proxy may be configured by flags (k3s, RKE2) or replaced (Cilium, kube-router)',
        'if kube-proxy runs in ipvs mode, start it with --ipvs-strict-arp (strictARP: true); in iptables/nftables mode nothing is needed',
      );
    case 'forbidden':
      return cannotTell(
        c,
        `not allowed to read ConfigMap kube-system/kube-proxy: ${src.message}`,
        'apply deploy/openelb.yaml (Role openelb-speaker-doctor grants get on that ConfigMap) or run doctor with an admin kubeconfig',
      );
    case 'error':
      return cannotTell(c, `reading ConfigMap kube-system/kube-proxy failed: ${src.message}`);
    case 'found': {
      const text = src.data?.['config.conf'];
      if (text === undefined) {
        return cannotTell(c, 'ConfigMap kube-system/kube-proxy has no key config.conf (kube-proxy is configured some other way)');
      }
      const parsed = parseKubeProxyConfig(text);
      if (!parsed.ok) return cannotTell(c, `ConfigMap kube-system/kube-proxy: ${parsed.message}`);
      const { mode, strictARP } = parsed.value;
      const shown = mode === '' ? 'iptables (mode unset)' : mode;
      if (mode === 'ipvs') {
        if (strictARP === true) return passed(c, 'kube-proxy runs in ipvs mode with strictARP: true');
        return failed(
          c,
          `kube-proxy runs in ipvs mode with strictARP ${strictARP === false ? 'false' : 'unset (false)'}: every node's kernel ` +
            'answers ARP for the LoadBalancer IPs it binds on kube-ipvs0, so clients see several MACs',
          FIX_STRICT,
        );
      }
      return passed(c, `kube-proxy runs in ${shown} mode: it does not bind LoadBalancer IPs, strictARP is not needed`);
    }
  }
}
