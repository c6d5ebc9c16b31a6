// The DaemonSet's speaker pod, read from deploy/openelb.yaml, turned into the `podman run` a kubelet
// would amount to on one node. Pure (no I/O): the lab (scripts/lab/image-runtime.ts) supplies the
// node's facts and runs the result; test/unit/image/pod.test.ts checks the mapping.
//
// What a kubelet does for this pod and how it maps:
//   hostNetwork: true                 -> --network ns:<the node's network namespace>, hostname = node name
//   securityContext.runAsUser/Group   -> --user
//   allowPrivilegeEscalation: false   -> --security-opt no-new-privileges
//   readOnlyRootFilesystem: true      -> --read-only --read-only-tmpfs=false (podman would otherwise
//                                        mount tmpfs on /tmp, /var/tmp and /run; a kubelet does not)
//   capabilities drop/add             -> --cap-drop / --cap-add (same names, CAP_ prefix optional)
//   seccompProfile RuntimeDefault     -> podman's default seccomp profile (Unconfined -> seccomp=unconfined)
//   env value / fieldRef              -> -e NAME=value (downward API: spec.nodeName, metadata.namespace, ...)
//   the API server's Service          -> KUBERNETES_SERVICE_HOST/PORT (+ the KUBERNETES_PORT_* service links)
//   projected ServiceAccount token    -> a read-only bind mount at /var/run/secrets/kubernetes.io/serviceaccount
//   command / args with $(VAR)        -> --entrypoint / arguments, $(VAR) expanded from the container env
//   resources.limits.memory           -> --memory (cgroup limit; CPU requests are not mapped: cpu.shares
//                                        against the rest of a shared test machine would starve the speaker)
//   terminationGracePeriodSeconds     -> --stop-timeout
//   imagePullPolicy: IfNotPresent     -> --pull never (the image is built here; nothing is pulled)
import { loadAllYaml, type V1Container, type V1DaemonSet, type V1EnvVar, type V1SecurityContext } from '@kubernetes/client-node';

/** Where the kubelet mounts the pod's ServiceAccount credentials (client-node's loadFromCluster reads here). */
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What the lab needs from the DaemonSet: the pod template's facts for one container. */
export interface SpeakerPod {
  daemonSet: string;
  /** The DaemonSet's namespace (the ServiceAccount lives there). */
  namespace: string;
  serviceAccountName: string;
  hostNetwork: boolean;
  terminationGracePeriodSeconds: number | undefined;
  container: V1Container;
}

/**
 * Finds the DaemonSet (and its container, by name or the only one) in a multi-document manifest.
 * Throws a message naming what is missing, so an edit to deploy/ that breaks the lab says why.
 */
export function speakerPodFrom(manifest: string, opts: { daemonSet?: string; container?: string } = {}): SpeakerPod {
  const docs = (loadAllYaml(manifest) as Array<{ kind?: string } | null>).filter((d): d is V1DaemonSet => d?.kind === 'DaemonSet');
  const ds = opts.daemonSet ? docs.find((d) => d.metadata?.name === opts.daemonSet) : docs[0];
  if (!ds || (!opts.daemonSet && docs.length !== 1)) {
    throw new Error(`the manifest must hold ${opts.daemonSet ? `DaemonSet ${opts.daemonSet}` : 'exactly one DaemonSet'} (found: ${docs.map((d) => d.metadata?.name).join(', ') || 'none'})`);
  }
  const name = ds.metadata?.name ?? '';
  const spec = ds.spec?.template?.spec;
  const containers = spec?.containers ?? [];
  const container = opts.container ? containers.find((c) => c.name === opts.container) : containers.length === 1 ? containers[0] : undefined;
  if (!container) throw new Error(`DaemonSet ${name}: no container ${opts.container ?? '(expected exactly one)'}`);
  if (!container.image) throw new Error(`DaemonSet ${name}: container ${container.name} has no image`);
  return {
    daemonSet: name,
    namespace: ds.metadata?.namespace ?? 'default',
    serviceAccountName: spec?.serviceAccountName ?? 'default',
    hostNetwork: spec?.hostNetwork ?? false,
    terminationGracePeriodSeconds: spec?.terminationGracePeriodSeconds,
    container,
  };
}

/** Downward API facts a kubelet knows about one pod of the DaemonSet. */
export interface PodFacts {
  nodeName: string;
  podName: string;
  /** Namespace the pod runs in (metadata.namespace). */
  podNamespace: string;
  /** The node's address (status.hostIP; with hostNetwork also status.podIP). */
  hostIP: string;
  serviceAccountName: string;
}

/** The value of a downward API fieldRef, or a clear error for one the lab does not model. */
export function fieldRefValue(fieldPath: string, f: PodFacts, hostNetwork: boolean): string {
  switch (fieldPath) {
    case 'spec.nodeName':
      return f.nodeName;
    case 'metadata.name':
      return f.podName;
    case 'metadata.namespace':
      return f.podNamespace;
    case 'spec.serviceAccountName':
      return f.serviceAccountName;
    case 'status.hostIP':
      return f.hostIP;
    case 'status.podIP':
      if (hostNetwork) return f.hostIP;
      break;
  }
  throw new Error(`env fieldRef ${fieldPath} is not modelled by the lab's kubelet stand-in (scripts/image/pod.ts): add it to fieldRefValue`);
}

/** The container's env as a kubelet resolves it: literal values, fieldRefs, $(VAR) to earlier entries. */
export function resolveEnv(env: V1EnvVar[] | undefined, f: PodFacts, hostNetwork: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Map<string, string>();
  for (const e of env ?? []) {
    let value: string;
    if (e.valueFrom) {
      if (!e.valueFrom.fieldRef) throw new Error(`env ${e.name}: only value and valueFrom.fieldRef are modelled by the lab (got ${Object.keys(e.valueFrom).join(', ')})`);
      value = fieldRefValue(e.valueFrom.fieldRef.fieldPath, f, hostNetwork);
    } else {
      value = expandVars(e.value ?? '', seen);
    }
    seen.set(e.name, value);
    out.push([e.name, value]);
  }
  return out;
}

/**
 * Kubernetes' $(VAR) expansion in env values, command and args: a defined name is replaced, an
 * undefined one stays as written, and $$ escapes a dollar sign.
 */
export function expandVars(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return vars.has(name!) ? vars.get(name!)! : m;
  });
}

/** A Kubernetes memory quantity ("256Mi", "1G", "134217728") in bytes. */
export function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) throw new Error(`memory quantity "${q}" is not understood (use e.g. 256Mi)`);
  const mult: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.round(Number(m[1]) * mult[m[2] ?? '']!);
}

/** The API server's `kubernetes` Service as a kubelet advertises it to every container. */
export function serviceLinkEnv(host: string, port: number): Array<[string, string]> {
  const h = host.includes(':') ? `[${host}]` : host;
  return [
    ['KUBERNETES_SERVICE_HOST', host],
    ['KUBERNETES_SERVICE_PORT', String(port)],
    ['KUBERNETES_SERVICE_PORT_HTTPS', String(port)],
    ['KUBERNETES_PORT', `tcp://${h}:${port}`],
    [`KUBERNETES_PORT_${port}_TCP`, `tcp://${h}:${port}`],
    [`KUBERNETES_PORT_${port}_TCP_PROTO`, 'tcp'],
    [`KUBERNETES_PORT_${port}_TCP_PORT`, String(port)],
    [`KUBERNETES_PORT_${port}_TCP_ADDR`, host],
  ];
}

/** securityContext -> podman flags; throws for a field the lab cannot reproduce faithfully. */
export function securityFlags(sc: V1SecurityContext | undefined): string[] {
  const flags: string[] = [];
  if (!sc) return flags;
  if (sc.privileged) flags.push('--privileged');
  if (sc.runAsUser !== undefined) flags.push('--user', sc.runAsGroup !== undefined ? `${sc.runAsUser}:${sc.runAsGroup}` : String(sc.runAsUser));
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  if (sc.readOnlyRootFilesystem) flags.push('--read-only', '--read-only-tmpfs=false');
  const cap = (c: string) => (c.toUpperCase() === 'ALL' ? 'ALL' : c.toUpperCase().replace(/^(CAP_)?/, 'CAP_'));
  for (const c of sc.capabilities?.drop ?? []) flags.push('--cap-drop', cap(c));
  for (const c of sc.capabilities?.add ?? []) flags.push('--cap-add', cap(c));
  const seccomp = sc.seccompProfile?.type;
  if (seccomp === 'Unconfined') flags.push('--security-opt', 'seccomp=unconfined');
  else if (seccomp === 'Localhost') throw new Error('seccompProfile Localhost is not modelled by the lab (RuntimeDefault and Unconfined are)');
  return flags;
}

export interface RunContext extends PodFacts {
  /** Container name (unique on the machine). */
  containerName: string;
  /** Network namespace path (/run/netns/<name>) standing for the node's host network. */
  netnsPath: string;
  /** Host directory holding token, ca.crt and namespace. */
  serviceAccountDir: string;
  /** Where the API server is reachable from the node's network namespace. */
  apiHost: string;
  apiPort: number;
  /** Labels for finding the container again (teardown). */
  labels?: Record<string, string>;
  /** Replaces the container's args (e.g. ['doctor']); default the DaemonSet's. */
  args?: string[];
  /** Appended to the args (lab-only tuning such as shorter Lease timings). */
  extraArgs?: string[];
  /** Replaces the image reference (default the container's). */
  image?: string;
}

/** The full `podman run` argv (without `podman`, with `run`) for one pod of the DaemonSet. */
export function podmanRunArgs(pod: SpeakerPod, ctx: RunContext): string[] {
  const c = pod.container;
  if (!pod.hostNetwork) throw new Error(`DaemonSet ${pod.daemonSet}: the lab runs host-network pods only (hostNetwork is not true)`);
  const env = [...serviceLinkEnv(ctx.apiHost, ctx.apiPort), ...resolveEnv(c.env, ctx, pod.hostNetwork)];
  const vars = new Map(env);
  const argv = ['run', '--name', ctx.containerName, '--pull', 'never', '--network', `ns:${ctx.netnsPath}`, '--hostname', ctx.nodeName];
  for (const [k, v] of Object.entries(ctx.labels ?? {})) argv.push('--label', `${k}=${v}`);
  argv.push(...securityFlags(c.securityContext));
  const mem = c.resources?.limits?.memory;
  if (mem !== undefined) argv.push('--memory', String(quantityBytes(String(mem))));
  if (pod.terminationGracePeriodSeconds !== undefined) argv.push('--stop-timeout', String(pod.terminationGracePeriodSeconds));
  argv.push('--volume', `${ctx.serviceAccountDir}:${SERVICE_ACCOUNT_MOUNT}:ro`);
  for (const [k, v] of env) argv.push('--env', `${k}=${v}`);
  const expand = (a: string) => expandVars(a, vars);
  if (c.command?.length) argv.push('--entrypoint', JSON.stringify(c.command.map(expand)));
  argv.push(ctx.image ?? c.image!);
  argv.push(...(ctx.args ?? c.args ?? []).map(expand), ...(ctx.extraArgs ?? []));
  return argv;
}

/** The port a container port name (or number) stands for, e.g. the readiness probe's `metrics`. */
export function containerPort(c: V1Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}
