// CAP_NET_RAW: the speaker answers ARP/NDP through AF_PACKET sockets, which need it in the
// effective set. Without it the speaker still does IPAM but can announce nothing.
import { type CheckResult, failed, passed } from './result.ts';

export const CHECK_NET_RAW = 'CAP_NET_RAW';

export type NetRawFact = { loaded: true; hasNetRaw: boolean; uid?: number } | { loaded: false; error: string };

export function checkNetRaw(f: NetRawFact): CheckResult {
  if (!f.loaded) {
    return failed(
      CHECK_NET_RAW,
      `the packet-socket FFI (koffi) did not load: ${f.error}`,
      'run on glibc Linux x86-64/arm64 with the production node_modules installed (npm ci --omit=dev); Deno needs -A (or --allow-ffi)',
    );
  }
  if (f.hasNetRaw) return passed(CHECK_NET_RAW, 'this process may open AF_PACKET sockets (CAP_NET_RAW is effective)');
  return failed(
    CHECK_NET_RAW,
    `CAP_NET_RAW is not in this process's effective capabilities${f.uid !== undefined ? ` (uid ${f.uid})` : ''}: the speaker cannot open AF_PACKET sockets to answer ARP/NDP`,
    'run as root, or in the pod add it: securityContext.capabilities.add: [NET_RAW] (deploy/daemonset.yaml does); ' +
      'for a non-root user outside Kubernetes: setcap cap_net_raw+ep on the runtime binary',
  );
}
