// The lab's `image` runtime: each node's speaker is the image `npm run image` builds, run with
// podman (runc) the way a kubelet runs the DaemonSet's pod on that node. Everything about the pod
// comes from deploy/openelb.yaml (scripts/image/pod.ts maps it): the node's network namespace as
// the host network, the securityContext, env with the downward API's values, command and args, a
// ServiceAccount token from the TokenRequest API with ca.crt and namespace mounted at
// /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT pointing at the
// node agent's API relay (127.0.0.1:<port> inside the node namespace), so the speaker loads its
// in-cluster config exactly as in a cluster.
//
// One departure: the pods run in the lab's own speaker namespace (metadata.namespace, hence
// OPENELB_NAMESPACE, is lab-<id>-system), so a lab never sees another run's Leases, as with the
// node and deno runtimes; their ServiceAccount is still the DaemonSet's (openelb-system/
// openelb-speaker), bound there to the same Lease Role. Tokens are not bound to a Pod object
// (there is no kubelet to own one) and are not refreshed (3607 s, far longer than a lab run).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import type { TypedKubeClient } from '../kit/typed-client.ts';
import type { ControlPlane } from '../kit/control-plane.ts';
import { Child, exec, listNamespaces, REPO_ROOT, run, tsxArgv, type ExecResult } from '../kit/netns.ts';
import { containersConfEnv, CONTAINER_TOOLS, requireTools } from '../image/podman.ts';
import { containerPort, podmanRunArgs, speakerPodFrom, type RunContext, type SpeakerPod } from '../image/pod.ts';

/** Label on every container a lab starts (value: the lab id), so leftovers of a killed run can be found. */
const LAB_CONTAINER_LABEL = 'lab.openelb-ts.io/id';
/** Lifetime kubelets ask for (and refresh at 80 %); a lab run is far shorter. */
const TOKEN_SECONDS = 3607;

export interface ImageNode {
  name: string;
  ip4: string;
  /** Network namespace name (ip netns) standing for the node. */
  netns: string;
}

export interface BuiltImage {
  ref: string;
  id: string;
  archive: string;
}

/** `npm run image` (cached, flocked) in a child process; its IMAGE=/IMAGE_ID=/IMAGE_ARCHIVE= lines. */
export async function ensureImage(log: (line: string) => void = () => {}): Promise<BuiltImage> {
  requireTools('the image runtime', CONTAINER_TOOLS);
  const r = await exec(tsxArgv('scripts/image/build.ts'), { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`npm run image failed (exit ${r.code}):\n${r.stderr.trim()}`);
  for (const line of r.stderr.trim().split('\n')) if (line) log(line);
  const value = (k: string) => new RegExp(`^${k}=(.+)$`, 'm').exec(r.stdout)?.[1];
  const ref = value('IMAGE');
  const id = value('IMAGE_ID');
  const archive = value('IMAGE_ARCHIVE');
  if (!ref || !id || !archive) throw new Error(`npm run image printed no IMAGE/IMAGE_ID/IMAGE_ARCHIVE lines:\n${r.stdout}`);
  return { ref, id, archive };
}

/** podman's reading of a short image name: no registry part -> localhost/ (where built images live). */
export function localImageRef(image: string): string {
  const first = image.split('/')[0]!;
  const hasRegistry = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasRegistry ? image : `localhost/${image}`;
}

/** Containers of labs whose network namespaces are gone (killed runs): removed at the next lab. */
async function removeOrphans(): Promise<void> {
  const r = await exec(['podman', 'ps', '--all', '--filter', `label=${LAB_CONTAINER_LABEL}`, '--format', `{{.Names}} {{index .Labels "${LAB_CONTAINER_LABEL}"}}`], { env: containersConfEnv() });
  if (r.code !== 0) return;
  const live = new Set((await listNamespaces()).map((n) => /^oelb([0-9a-f]+)-/.exec(n)?.[1]).filter(Boolean));
  const dead = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter(([name, id]) => name && id && !live.has(id)).map(([name]) => name!);
  if (dead.length) await exec(['podman', 'rm', '--force', '--time', '0', ...dead], { env: containersConfEnv(), timeoutMs: 60_000 });
}

export class ImageRuntime {
  private seq = 0;
  private readonly started = new Set<string>();
  private readonly onExit = () => this.removeAllSync();

  private constructor(
    readonly pod: SpeakerPod,
    readonly image: BuiltImage,
    private readonly opts: { labId: string; dir: string; admin: TypedKubeClient; cp: ControlPlane; podNamespace: string; apiPort: number },
  ) {
    process.once('exit', this.onExit);
  }

  /** Builds (or finds) the image and reads the DaemonSet; throws when they do not fit the lab. */
  static async create(opts: {
    labId: string;
    dir: string;
    admin: TypedKubeClient;
    cp: ControlPlane;
    podNamespace: string;
    apiPort: number;
    metricsPort: number;
    log?: (line: string) => void;
  }): Promise<ImageRuntime> {
    const image = await ensureImage(opts.log);
    const manifest = join(REPO_ROOT, 'deploy/openelb.yaml');
    const pod = speakerPodFrom(readFileSync(manifest, 'utf8'));
    const wanted = localImageRef(pod.container.image!);
    if (wanted !== image.ref) {
      throw new Error(`${manifest}: DaemonSet ${pod.daemonSet} runs image ${pod.container.image} (${wanted}), but npm run image builds ${image.ref}: make them agree (package.json version)`);
    }
    // The kubelet probes the health port; the lab reads /readyz and /metrics on the metrics port
    // (the metrics server answers /readyz too). Both come from the DaemonSet's env: check that the
    // probe and the env agree, and that the metrics port is the one the lab scrapes.
    const envPort = (name: string): number | undefined => {
      const v = pod.container.env?.find((e) => e.name === name)?.value;
      const m = v ? /:(\d+)$/.exec(v) : null;
      return m ? Number(m[1]) : undefined;
    };
    const probePort = containerPort(pod.container, pod.container.readinessProbe?.httpGet?.port as string | number | undefined);
    if (probePort !== envPort('OPENELB_HEALTH_ADDR')) {
      throw new Error(`${manifest}: the readiness probe's port is ${probePort}, but OPENELB_HEALTH_ADDR listens on ${envPort('OPENELB_HEALTH_ADDR')}: make them agree`);
    }
    if (envPort('OPENELB_METRICS_ADDR') !== opts.metricsPort) {
      throw new Error(`${manifest}: OPENELB_METRICS_ADDR listens on ${envPort('OPENELB_METRICS_ADDR')}, the lab scrapes ${opts.metricsPort} (scripts/lab/lab.ts METRICS_PORT)`);
    }
    await removeOrphans();
    return new ImageRuntime(pod, image, opts);
  }

  /** The pod's ServiceAccount volume for one node: a fresh TokenRequest token, the cluster CA, the namespace. */
  private async serviceAccountDir(node: ImageNode): Promise<string> {
    const { admin, cp, dir, podNamespace } = this.opts;
    const tr = await admin.core.createNamespacedServiceAccountToken({
      name: this.pod.serviceAccountName,
      namespace: this.pod.namespace,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds: TOKEN_SECONDS } },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ${this.pod.namespace}/${this.pod.serviceAccountName} returned no token`);
    const cluster = cp.adminConfig().getCurrentCluster();
    const ca = cluster?.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster?.caFile ? readFileSync(cluster.caFile, 'utf8') : '';
    if (!ca) throw new Error('the control plane\'s kubeconfig has no cluster CA to mount as ca.crt');
    const sa = join(dir, `sa-${node.name}`);
    mkdirSync(sa, { recursive: true, mode: 0o755 });
    writeFileSync(join(sa, 'token'), token, { mode: 0o644 });
    writeFileSync(join(sa, 'ca.crt'), ca, { mode: 0o644 });
    writeFileSync(join(sa, 'namespace'), podNamespace, { mode: 0o644 });
    return sa;
  }

  /** `podman run ...` for the node's pod; args/extraArgs/without as in RunContext (without: capabilities to leave out). */
  async runArgv(node: ImageNode, o: { args?: string[]; extraArgs?: string[]; withoutCaps?: string[] } = {}): Promise<{ argv: string[]; name: string }> {
    const name = `oelb${this.opts.labId}-${node.name}-${++this.seq}`;
    let pod = this.pod;
    if (o.withoutCaps?.length) {
      const sc = pod.container.securityContext ?? {};
      const add = (sc.capabilities?.add ?? []).filter((c) => !o.withoutCaps!.includes(c));
      pod = { ...pod, container: { ...pod.container, securityContext: { ...sc, capabilities: { ...sc.capabilities, add } } } };
    }
    const ctx: RunContext = {
      containerName: name,
      nodeName: node.name,
      podName: `${pod.daemonSet}-${node.name}`,
      podNamespace: this.opts.podNamespace,
      hostIP: node.ip4,
      serviceAccountName: pod.serviceAccountName,
      netnsPath: `/run/netns/${node.netns}`,
      serviceAccountDir: await this.serviceAccountDir(node),
      apiHost: '127.0.0.1',
      apiPort: this.opts.apiPort,
      labels: { [LAB_CONTAINER_LABEL]: this.opts.labId },
      args: o.args,
      extraArgs: o.extraArgs,
      image: this.image.ref,
    };
    this.started.add(name);
    return { argv: ['podman', ...podmanRunArgs(pod, ctx)], name };
  }

  /** Starts the node's speaker pod (attached: its output is the Child's; SIGTERM is proxied to it). */
  async start(node: ImageNode, extraArgs: string[]): Promise<{ child: Child; name: string; argv: string[] }> {
    const { argv, name } = await this.runArgv(node, { extraArgs });
    return { child: new Child(argv, { env: containersConfEnv() }), name, argv };
  }

  /** Runs the pod with other args (e.g. ['doctor']) to completion. */
  async runOnce(node: ImageNode, o: { args: string[]; withoutCaps?: string[]; timeoutMs?: number }): Promise<ExecResult & { argv: string[] }> {
    const { argv, name } = await this.runArgv(node, o);
    const r = await exec(argv, { env: containersConfEnv(), timeoutMs: o.timeoutMs ?? 60_000 });
    await this.remove([name]);
    return { ...r, argv };
  }

  /** A crash: SIGKILL to the container's process (killing `podman run` would leave the container running). */
  async kill(name: string): Promise<void> {
    await run(['podman', 'kill', '--signal', 'KILL', name], { env: containersConfEnv() }).catch(() => undefined);
  }

  async remove(names: string[]): Promise<void> {
    if (!names.length) return;
    await exec(['podman', 'rm', '--force', '--time', '0', ...names], { env: containersConfEnv(), timeoutMs: 60_000 });
    for (const n of names) this.started.delete(n);
  }

  /** Removes every container this lab started. */
  async removeAll(): Promise<void> {
    await this.remove([...this.started]);
    process.off('exit', this.onExit);
  }

  private removeAllSync(): void {
    if (!this.started.size) return;
    try {
      execFileSync('podman', ['rm', '--force', '--time', '0', ...this.started], { env: { ...process.env, ...containersConfEnv() }, stdio: 'ignore' });
    } catch {
      // the next lab removes orphans by label
    }
  }
}
