// The seed's Layer 2 topology on one machine (seeds/000: three nodes and a client on one L2
// network), with the real kube-apiserver and real speaker processes. Shared by the lab tests
// (test/lab), the demo (scripts/demo) and the failover benchmarks (scripts/bench/failover*.ts).
//
// API (everything is torn down by lab.teardown(), by t.after when created with a test context, and
// as a last resort on process exit/SIGINT/SIGTERM):
//
//   const lab = await SeedLab.create({ t });          // namespaces, bridge, Node objects, agents
//                                                     // (runtime: 'deno', or 'image': each speaker is the
//                                                     // DaemonSet's pod in the built image, image-runtime.ts)
//   await lab.startSpeakers();                        // one `openelb-ts speaker` per node namespace
//   await lab.createEip();                            // seed Eip layer2-eip 192.168.0.91-192.168.0.100 on eth0
//   const svc = await lab.createService({ name: 'web', pods: 2 });   // Service + pods + EndpointSlice
//   svc.ip                                            // assigned IP (IPAM in the speakers, or by the lab)
//   await lab.waitForAnnouncer(svc.ip)                // LabNode answering ARP/NDP for it, seen by the client
//   await lab.curl(svc.ip)                            // "You've hit web-0" (through the kube-proxy stand-in)
//   await lab.arping(svc.ip) / lab.neighbour(svc.ip)  // MAC seen by the client
//   lab.nodes[i].stopSpeaker() / killSpeaker() / startSpeaker()   // graceful, crash, restart
//   lab.nodes[i].api.cut() / pause() / resume()       // this node's path to the API server
//   await lab.setPods(svc, [{ node: 'worker-p001' }]) // move endpoints (EndpointSlice + proxies)
//   await lab.expectedOwners()                        // the pure election over the API's current state
//   await lab.teardown()
//
// Pieces (all inside namespaces the lab creates; nothing in the host namespace but unix sockets):
//   - a bridge namespace `sw` (br0), a client namespace and one namespace per node, each attached
//     with eth0 carrying the seed's IPv4 address and MAC plus an IPv6 address (fd00:168::/64);
//   - per node: arp_ignore=1 / arp_announce=2 (what kube-proxy strictARP sets), a NOARP NIC
//     `kube-ipvs0` holding every Service VIP (so the node accepts VIP traffic but the kernel never
//     answers ARP/NDP for it: only the speaker does), pod IPs 10.244.<n>.<k>/32 on lo with routes to
//     the other nodes' pod ranges, and a node agent (node-agent.ts: API relay, HTTP pods, kube-proxy
//     stand-in);
//   - the control plane: OELB_KUBECONFIG/OELB_SPEAKER_KUBECONFIG (scripts/test.sh) or a private one
//     (scripts/kit/control-plane.ts); per lab a Kubernetes namespace for Services and one for the
//     speakers' Leases (so a lab never sees another run's Leases), Node objects for the nodes (no
//     kubelet here) and EndpointSlices for the pods (no controller-manager here).
import { TypedKubeClient, mergePatchOptions } from '../kit/typed-client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import type { V1EndpointSlice, V1Lease, V1Node, V1Service } from '@kubernetes/client-node';
import { type ControlPlane, controlPlane } from '../kit/control-plane.ts';
import { type Child, Lab, type Netns, REPO_ROOT, answeringMacs, denoArgv, denoBinary, tsxArgv } from '../kit/netns.ts';
import { EIP_GROUP, EIP_PLURAL, EIP_VERSION, type EipObject } from '../../src/kube/client.ts';
import { ipToString } from '../../src/net/ip.ts';
import { classifyError } from '../../src/kube/errors.ts';
import { CANNOT_SERVE_ANNOTATION, MEMBERSHIP_SELECTOR, parseNameList } from '../../src/kube/membership.ts';
import { type Election, electAll } from '../../src/speaker/election.ts';
import { buildClaims, layer2Pools, nodeFactsFrom, readyNodesByService, servicesWithIps, SERVICE_NAME_LABEL } from '../../src/speaker/layer2-inputs.ts';
import { ANNOUNCER_ANNOTATION } from '../../src/speaker/layer2-plan.ts';
import { ApiRelay } from './api-relay.ts';
import { ImageRuntime } from './image-runtime.ts';
import { DENO_V8_FLAGS, MALLOC_ENV } from '../../src/cli/runtime-flags.ts';

/** Label on every API object a lab creates (value: the lab id), so leftovers of a killed run can be found. */

export const LAB_LABEL = 'lab.openelb-ts.io/id';

export interface HostSpec {
  name: string;
  ip4: string;
  ip6: string;
  mac: string;
}

/** seeds/000: the devices of the walkthrough. IPv6 addresses are ours (the seed is IPv4 only). */
export const SEED = {
  prefix4: 24,
  prefix6: 64,
  nodes: [
    { name: 'master1', ip4: '192.168.0.2', ip6: 'fd00:168::2', mac: '52:54:22:a3:9a:d9' },
    { name: 'worker-p001', ip4: '192.168.0.3', ip6: 'fd00:168::3', mac: '52:54:22:3a:e6:6e' },
    { name: 'worker-p002', ip4: '192.168.0.4', ip6: 'fd00:168::4', mac: '52:54:22:37:6c:7b' },
  ] as HostSpec[],
  client: { name: 'i-f3fozos0', ip4: '192.168.0.5', ip6: 'fd00:168::5', mac: '52:54:22:fa:b9:3b' } as HostSpec,
  eip: { name: 'layer2-eip', address: '192.168.0.91-192.168.0.100', interface: 'eth0' },
  eip6: { name: 'layer2-eip-v6', address: 'fd00:168::91-fd00:168::100', interface: 'eth0' },
} as const;

/** Port the speakers serve /metrics, /healthz, /readyz on (inside each node namespace). */
export const METRICS_PORT = 7472;
const POD_PORT = 8080;

export type LabRuntime = 'node' | 'deno' | 'image' | 'bundle' | 'deno-bundle';
const RUNTIMES: readonly LabRuntime[] = ['node', 'deno', 'image', 'bundle', 'deno-bundle'];

function defaultRuntime(): LabRuntime {
  const env = process.env.OELB_LAB_RUNTIME;
  if (!env) return 'node';
  if (!RUNTIMES.includes(env as LabRuntime)) throw new Error(`OELB_LAB_RUNTIME=${env}: expected one of ${RUNTIMES.join(', ')}`);
  return env as LabRuntime;
}

export interface SeedLabOptions {
  /** node:test context: teardown on t.after. */
  t?: { after(fn: () => unknown): void };
  /**
   * Speaker runtime. image: the DaemonSet's pod from `npm run image` in podman (image-runtime.ts).
   * bundle: dist/openelb-ts.mjs run as the image's `openelb-ts` command (its #! line sets the memory
   * flags of src/cli/runtime-flags.ts; as shipped; build it first). deno-bundle: the same bundle on
   * Deno with those flags (`deno run -A --v8-flags=... dist/openelb-ts.mjs`, build it first).
   * Default: env OELB_LAB_RUNTIME (so a test file can rerun another's scenarios in the image), else node (tsx).
   */
  runtime?: LabRuntime;
  /** Speakers run IPAM (the IPAM Lease holder assigns IPs). false: the lab writes Service status itself. Default true. */
  ipam?: boolean;
  /** Membership Lease timings passed to the speakers (default: the speaker's defaults). */
  membership?: { leaseDurationMs?: number; retryPeriodMs?: number };
  /** Extra speaker flags. */
  speakerArgs?: string[];
  /** Extra speaker environment. */
  speakerEnv?: Record<string, string>;
  /** Progress lines (the demo prints them). Default: none. */
  log?: (line: string) => void;
  /** Node names (default the seed's). Must be unique in the control plane while the lab runs. */
  nodeNames?: string[];
  /** More nodes than the seed's three (benchmarks at scale): node-4, node-5, ... on the same bridge. */
  nodeCount?: number;
}

/** The seed's nodes, then generated ones up to `count` (192.168.0.20+, 52:54:22:00:00:xx). */
export function labHostSpecs(count: number = SEED.nodes.length): HostSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > 60) throw new Error(`lab: nodeCount ${count} must be 1..60`);
  const out: HostSpec[] = SEED.nodes.slice(0, count).map((n) => ({ ...n }));
  for (let i = out.length; i < count; i++) {
    const host = 20 + i;
    out.push({ name: `node-${i + 1}`, ip4: `192.168.0.${host}`, ip6: `fd00:168::${host.toString(16)}`, mac: `52:54:22:00:00:${i.toString(16).padStart(2, '0')}` });
  }
  return out;
}

export interface PodSpec {
  /** Node name the pod runs on. */
  node: string;
  /** Pod name; default `<service>-<n>`. */
  name?: string;
  /** Ready condition in the EndpointSlice (default true). */
  ready?: boolean;
}

export interface LabPod {
  name: string;
  node: string;
  ip: string;
  ready: boolean;
}

export interface ServiceSpec {
  name: string;
  /** Service port (default 80). */
  port?: number;
  policy?: 'Cluster' | 'Local';
  /** Pods: a count (spread over the nodes round robin) or explicit placements. Default 2. */
  pods?: number | PodSpec[];
  /** Eip to draw from (annotation eip.openelb.kubesphere.io/v1alpha2). Default the seed Eip. */
  eip?: string;
  /** Requested IP (annotation eip.openelb.kubesphere.io/v1alpha1). */
  ip?: string;
  /** IPv4 (default) or IPv6. */
  family?: 'IPv4' | 'IPv6';
  /** Wait for an IP (default true). */
  wait?: boolean;
}

export interface LabService {
  name: string;
  namespace: string;
  key: string;
  port: number;
  policy: 'Cluster' | 'Local';
  family: 'IPv4' | 'IPv6';
  /** The assigned IP ('' until assigned). */
  ip: string;
  pods: LabPod[];
}

export class LabNode {
  speaker: Child | undefined;
  /** The speaker's container and its `podman run` argv (image runtime). */
  container: string | undefined;
  containerArgv: string[] = [];
  /** Every speaker process this node has had (logs of earlier ones stay readable). */
  readonly speakers: Child[] = [];
  agent!: Child;
  private seq = 0;

  constructor(
    readonly lab: SeedLab,
    readonly index: number,
    readonly spec: HostSpec,
    readonly netns: Netns,
    readonly api: ApiRelay,
  ) {}

  get name(): string {
    return this.spec.name;
  }
  get mac(): string {
    return this.spec.mac;
  }

  /** Sends one command to the node agent and waits for its acknowledgement. */
  async agentCommand(cmd: Record<string, unknown>): Promise<void> {
    const seq = ++this.seq;
    this.agent.write(JSON.stringify({ ...cmd, seq }) + '\n');
    const line = await this.agent.waitForLine(new RegExp(`^(ok|err) ${seq}( |$)`), 10_000);
    if (line.startsWith('err')) throw new Error(`node agent ${this.name}: ${line}`);
  }

  /** Starts the speaker (if not running) and waits until its /readyz answers 200. */
  async startSpeaker(opts: { waitReady?: boolean } = {}): Promise<Child> {
    if (this.speaker && !this.speaker.result) return this.speaker;
    let child: Child;
    if (this.lab.image) {
      const pod = await this.lab.image.start({ name: this.name, ip4: this.spec.ip4, netns: this.netns.name }, this.lab.labSpeakerArgs());
      child = pod.child;
      this.container = pod.name;
      this.containerArgv = pod.argv;
      this.netns.lab.track(child);
    } else {
      child = this.netns.spawn(this.lab.speakerArgv(this), { env: this.lab.speakerEnv() });
    }
    this.speaker = child;
    this.speakers.push(child);
    if (opts.waitReady ?? true) await this.waitReady();
    return child;
  }

  /** Polls /readyz until 200 (default 30 s). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.speaker?.result) {
        throw new Error(`speaker ${this.name} exited (${this.speaker.result.code ?? this.speaker.result.signal})\n${tail(this.speaker.stderr)}`);
      }
      const r = await this.netns.exec(['curl', '-s', '--max-time', '1', `http://127.0.0.1:${METRICS_PORT}/readyz`]);
      last = r.stdout.trim();
      if (r.code === 0 && last.startsWith('ok')) return;
      await sleep(200);
    }
    throw new Error(`speaker ${this.name} not ready after ${timeoutMs} ms (readyz: ${last})\n${tail(this.speaker?.stderr ?? '')}`);
  }

  /** SIGTERM (graceful stop, a rolling update); resolves with the exit result. */
  async stopSpeaker(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const s = this.speaker;
    if (!s) return { code: 0, signal: null, ms: 0 };
    const t0 = performance.now();
    const r = await s.stop(5000);
    this.speaker = undefined;
    return { code: r.code, signal: r.signal, ms: performance.now() - t0 };
  }

  /** SIGKILL (a crash). */
  async killSpeaker(): Promise<void> {
    const s = this.speaker;
    if (!s) return;
    // In a container the speaker is not our child: SIGKILL to `podman run` would leave it running.
    if (this.lab.image && this.container) await this.lab.image.kill(this.container);
    else s.kill('SIGKILL');
    await s.exited;
    this.speaker = undefined;
  }

  /** GET a speaker endpoint (/metrics, /readyz, /healthz). */
  async http(path: string): Promise<string> {
    return this.netns.run(['curl', '-s', '--max-time', '10', `http://127.0.0.1:${METRICS_PORT}${path}`], { timeoutMs: 12_000 });
  }

  /** Sets the node's bridge link down/up (a node falling off the network). */
  async link(up: boolean): Promise<void> {
    await this.netns.ip('link', 'set', 'eth0', up ? 'up' : 'down');
    this.linkUp = up;
  }

  /** False while link(false) holds the node's NIC down. */
  linkUp = true;

  /** The speaker runs and its NIC is up: its peers hear its beacons (what liveness judges by). */
  get reachable(): boolean {
    return this.speaker !== undefined && !this.speaker.result && this.linkUp;
  }
}

function tail(s: string, lines = 30): string {
  return s.split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `width` in flight. */
export async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export class SeedLab {
  readonly id: string;
  readonly nodes: LabNode[] = [];
  /** Kubernetes namespace of the lab's Services. */
  readonly namespace: string;
  /** Kubernetes namespace of the speakers' Leases. */
  readonly speakerNamespace: string;
  client!: Netns;
  bridge!: Netns;
  cp!: ControlPlane;
  admin!: TypedKubeClient;
  /** The image runtime's pods (runtime 'image'). */
  image: ImageRuntime | undefined;
  readonly services = new Map<string, LabService>();
  /** The namespaces of this lab (scripts/lab/bgp-lab.ts adds its routers to them, torn down together). */
  readonly net: Lab;
  private readonly dir: string;
  private podCounter = 0;
  private nextIp = new Map<string, number>();
  private tornDown = false;
  readonly runtime: LabRuntime;

  private constructor(
    net: Lab,
    readonly opts: SeedLabOptions,
  ) {
    this.runtime = opts.runtime ?? defaultRuntime();
    this.net = net;
    this.id = net.id;
    this.namespace = `lab-${this.id}`;
    this.speakerNamespace = `lab-${this.id}-system`;
    this.dir = mkdtempSync(join(tmpdir(), `oelb-lab-${this.id}-`));
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Builds the topology, the API objects of the nodes and the node agents. Speakers are not started. */
  static async create(opts: SeedLabOptions = {}): Promise<SeedLab> {
    const net = await Lab.create();
    const lab = new SeedLab(net, opts);
    opts.t?.after(() => lab.teardown());
    const onExit = () => {
      // Synchronous last resort (namespaces, sockets); the API objects are cleaned at the next create.
      rmSync(lab.dir, { recursive: true, force: true });
    };
    process.once('exit', onExit);
    try {
      await lab.build();
    } catch (err) {
      await lab.teardown();
      throw err;
    }
    return lab;
  }

  private async build(): Promise<void> {
    this.cp = await controlPlane();
    this.admin = TypedKubeClient.fromFile(this.cp.kubeconfig);
    // A shared API server may just have been restarted by an earlier file's fault test: it then
    // answers 429 "storage is (re)initializing" (or 5xx) for a moment. Wait that out.
    await retryTransient('removing earlier labs\' objects', () => this.removeLeftovers());
    const server = new URL(this.cp.server);
    const apiPort = Number(server.port || 443);
    const apiHost = server.hostname.replace(/^\[|\]$/g, '');
    if (this.runtime === 'image') {
      this.log(`lab ${this.id}: image (npm run image, cached) and the DaemonSet's pod from deploy/openelb.yaml`);
      this.image = await ImageRuntime.create({
        labId: this.id, dir: this.dir, admin: this.admin, cp: this.cp, podNamespace: this.speakerNamespace, apiPort, metricsPort: METRICS_PORT,
        log: (line) => this.log(`  ${line}`),
      });
    }

    const hosts = labHostSpecs(this.opts.nodeCount);
    this.log(`lab ${this.id}: network (bridge, client, ${hosts.length} nodes)`);
    this.bridge = await this.net.bridge('sw');
    this.client = await this.net.namespace('client');
    const c = SEED.client;
    await this.net.attach(this.bridge, this.client, 'eth0', { addr: [`${c.ip4}/${SEED.prefix4}`, `${c.ip6}/${SEED.prefix6}`], mac: c.mac });

    const names = this.opts.nodeNames ?? hosts.map((n) => n.name);
    for (let i = 0; i < hosts.length; i++) {
      const spec = { ...hosts[i]!, name: names[i] ?? hosts[i]!.name };
      const ns = await this.net.namespace(`n${i + 1}`);
      await this.net.attach(this.bridge, ns, 'eth0', { addr: [`${spec.ip4}/${SEED.prefix4}`, `${spec.ip6}/${SEED.prefix6}`], mac: spec.mac });
      // strictARP: the kernel answers ARP only for addresses on the asking NIC, and never uses a VIP as
      // the source of its own ARP requests.
      for (const [k, v] of [
        ['net.ipv4.conf.all.arp_ignore', '1'],
        ['net.ipv4.conf.all.arp_announce', '2'],
      ]) {
        await ns.run(['sysctl', '-q', '-w', `${k}=${v}`]);
      }
      // kube-ipvs0 stand-in: no dummy module here, so a veth pair with ARP off.
      await ns.ip('link', 'add', 'kube-ipvs0', 'type', 'veth', 'peer', 'name', 'kipvs-peer');
      await ns.ip('link', 'set', 'kube-ipvs0', 'arp', 'off', 'up');
      await ns.ip('link', 'set', 'kipvs-peer', 'arp', 'off', 'up');
      const relay = new ApiRelay(join(this.dir, `api-${i + 1}.sock`), apiHost, apiPort);
      await relay.start();
      const node = new LabNode(this, i, spec, ns, relay);
      node.agent = ns.spawn(tsxArgv('scripts/lab/node-agent.ts', '--node', spec.name, '--api-port', String(apiPort), '--api-socket', relay.path));
      this.nodes.push(node);
    }
    // Pod networks: 10.244.<n>.0/24 lives on node n; the other nodes route to it over the bridge.
    for (const n of this.nodes) {
      for (const m of this.nodes) {
        if (m !== n) await n.netns.ip('route', 'add', `10.244.${m.index + 1}.0/24`, 'via', m.spec.ip4);
      }
    }
    await Promise.all(this.nodes.map((n) => n.agent.waitForLine(/^ready/, 30_000)));

    this.log(`lab ${this.id}: API objects (namespaces ${this.namespace}, ${this.speakerNamespace}; Node objects)`);
    await this.admin.core.createNamespace({ body: { metadata: { name: this.namespace, labels: { [LAB_LABEL]: this.id } } } });
    await this.admin.core.createNamespace({ body: { metadata: { name: this.speakerNamespace, labels: { [LAB_LABEL]: this.id } } } });
    await this.applySpeakerRbac();
    for (const n of this.nodes) {
      await this.admin.core.createNode({ body: { metadata: { name: n.name, labels: { [LAB_LABEL]: this.id, 'kubernetes.io/hostname': n.name } } } });
    }
  }

  /** Leases and the beacon key in the lab's speaker namespace: the same Role the DaemonSet's namespace has. */
  private async applySpeakerRbac(): Promise<void> {
    const manifest = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: openelb-speaker, namespace: ${this.speakerNamespace}}
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [openelb-beacon-key]
  verbs: [get]
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: openelb-speaker, namespace: ${this.speakerNamespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: openelb-speaker}
subjects:
- {kind: ServiceAccount, name: openelb-speaker, namespace: openelb-system}
`;
    const r = await this.cp.kubectl(['apply', '-f', '-'], { input: manifest });
    if (r.code !== 0) throw new Error(`lab RBAC: ${r.stderr}`);
  }

  /** Deletes API objects of earlier labs (killed runs): their Services and Eips would be announced. */
  private async removeLeftovers(): Promise<void> {
    const sel = { labelSelector: LAB_LABEL };
    const svcs = await this.admin.core.listServiceForAllNamespaces(sel);
    await inBatches(svcs.items, 10, (s) => this.deleteService(s.metadata!.namespace!, s.metadata!.name!));
    const eips = (await this.admin.custom.listClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, ...sel })) as { items: EipObject[] };
    for (const e of eips.items) await this.deleteEip(e.metadata.name);
    const nodes = await this.admin.core.listNode(sel);
    for (const n of nodes.items) await this.admin.core.deleteNode({ name: n.metadata!.name! }).catch(() => undefined);
    // Same node names without our label (e.g. created by hand): replace them too.
    for (const name of this.opts.nodeNames ?? labHostSpecs(this.opts.nodeCount).map((n) => n.name)) {
      await this.admin.core.deleteNode({ name }).catch(() => undefined);
    }
  }

  private async deleteService(namespace: string, name: string): Promise<void> {
    await this.admin.patchService(namespace, name, { metadata: { finalizers: null } }).catch(() => undefined);
    await this.admin.core.deleteNamespacedService({ namespace, name }).catch(() => undefined);
  }

  private async deleteEip(name: string): Promise<void> {
    await this.admin.custom
      .patchClusterCustomObject(
        { group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name, body: { metadata: { finalizers: null } } },
        mergePatchOptions(),
      )
      .catch(() => undefined);
    await this.admin.custom.deleteClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, name }).catch(() => undefined);
  }

  // --- speakers ----------------------------------------------------------------------------

  /** argv of this node's speaker process. */
  speakerArgv(node: LabNode): string[] {
    const base =
      this.runtime === 'deno'
        ? denoArgv('src/cli/main.ts')
        : this.runtime === 'bundle'
          ? [resolve(REPO_ROOT, 'dist/openelb-ts.mjs')]
          : this.runtime === 'deno-bundle'
            ? [denoBinary(), 'run', '-A', '--quiet', DENO_V8_FLAGS, resolve(REPO_ROOT, 'dist/openelb-ts.mjs')]
            : tsxArgv('src/cli/main.ts');
    return [
      ...base,
      'speaker',
      '--node-name', node.name,
      '--kubeconfig', this.cp.speakerKubeconfig,
      '--namespace', this.speakerNamespace,
      '--metrics-addr', `127.0.0.1:${METRICS_PORT}`,
      ...this.labSpeakerArgs(),
    ];
  }

  /** The lab options' speaker flags (the image runtime appends them to the DaemonSet's args). */
  labSpeakerArgs(): string[] {
    const m = this.opts.membership ?? {};
    return [
      ...(this.opts.ipam === false ? ['--enable-ipam=false'] : []),
      ...(m.leaseDurationMs !== undefined ? ['--member-lease-duration-ms', String(m.leaseDurationMs)] : []),
      ...(m.retryPeriodMs !== undefined ? ['--member-retry-period-ms', String(m.retryPeriodMs)] : []),
      ...(this.opts.speakerArgs ?? []),
    ];
  }

  speakerEnv(): Record<string, string> {
    return { KUBECONFIG: '', ...(this.runtime === 'deno-bundle' ? MALLOC_ENV : {}), ...(this.opts.speakerEnv ?? {}) };
  }

  /** Starts every node's speaker and waits until all are ready. */
  async startSpeakers(): Promise<void> {
    this.log(`lab ${this.id}: starting ${this.nodes.length} speakers (${this.runtime})`);
    await Promise.all(this.nodes.map((n) => n.startSpeaker({ waitReady: false })));
    await Promise.all(this.nodes.map((n) => n.waitReady()));
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`lab has no node ${name}`);
    return n;
  }

  /** The node whose MAC this is (undefined for a foreign MAC). */
  nodeByMac(mac: string | null | undefined): LabNode | undefined {
    return this.nodes.find((n) => n.mac === (mac ?? '').toLowerCase());
  }

  // --- API objects -------------------------------------------------------------------------

  /** Creates (or replaces) an Eip; default the seed's. */
  async createEip(spec: { name?: string; address?: string; interface?: string; protocol?: string } = {}): Promise<string> {
    const name = spec.name ?? SEED.eip.name;
    await this.deleteEip(name);
    const body = {
      apiVersion: `${EIP_GROUP}/${EIP_VERSION}`,
      kind: 'Eip',
      metadata: { name, labels: { [LAB_LABEL]: this.id } },
      spec: {
        address: spec.address ?? SEED.eip.address,
        interface: spec.interface ?? SEED.eip.interface,
        protocol: spec.protocol ?? 'layer2',
      },
    };
    await this.admin.custom.createClusterCustomObject({ group: EIP_GROUP, version: EIP_VERSION, plural: EIP_PLURAL, body });
    this.log(`lab ${this.id}: Eip ${name} ${body.spec.address} (interface ${body.spec.interface})`);
    return name;
  }

  /** Creates a LoadBalancer Service with pods, an EndpointSlice and proxies; waits for its IP unless wait=false. */
  async createService(spec: ServiceSpec): Promise<LabService> {
    const port = spec.port ?? 80;
    const policy = spec.policy ?? 'Cluster';
    const family = spec.family ?? 'IPv4';
    const eip = spec.eip ?? (family === 'IPv6' ? SEED.eip6.name : SEED.eip.name);
    const annotations: Record<string, string> = {
      'lb.kubesphere.io/v1alpha1': 'openelb',
      'eip.openelb.kubesphere.io/v1alpha2': eip,
    };
    if (spec.ip) annotations['eip.openelb.kubesphere.io/v1alpha1'] = spec.ip;
    const body: V1Service = {
      metadata: { name: spec.name, namespace: this.namespace, labels: { [LAB_LABEL]: this.id }, annotations },
      spec: {
        type: 'LoadBalancer',
        selector: { app: spec.name },
        ports: [{ name: 'http', port, targetPort: POD_PORT as unknown as never, protocol: 'TCP' }],
        externalTrafficPolicy: policy,
        ipFamilyPolicy: 'SingleStack',
        ipFamilies: [family],
      },
    };
    await this.admin.core.createNamespacedService({ namespace: this.namespace, body });
    const svc: LabService = { name: spec.name, namespace: this.namespace, key: `${this.namespace}/${spec.name}`, port, policy, family, ip: '', pods: [] };
    this.services.set(spec.name, svc);
    const pods: PodSpec[] = typeof spec.pods === 'number' || spec.pods === undefined
      ? Array.from({ length: typeof spec.pods === 'number' ? spec.pods : 2 }, (_, i) => ({ node: this.nodes[i % this.nodes.length]!.name }))
      : spec.pods;
    await this.setPods(svc, pods);
    if (this.opts.ipam === false) await this.assignByLab(svc, spec.ip, eip);
    if (spec.wait ?? true) await this.waitForIp(svc);
    return svc;
  }

  /** Without IPAM in the speakers: the lab picks the next free pool address and writes status. */
  private async assignByLab(svc: LabService, requested: string | undefined, eipName: string): Promise<void> {
    let ip = requested;
    if (!ip) {
      const eip = (await this.admin.getEip(eipName)) as EipObject;
      const pools = layer2Pools([eip]);
      const pool = pools[0];
      if (!pool) throw new Error(`Eip ${eipName} is not a valid layer2 pool`);
      const used = new Set([...this.services.values()].map((s) => s.ip));
      const n = this.nextIp.get(eipName) ?? 0;
      for (let k = n; ; k++) {
        const v = pool.range.first + BigInt(k);
        if (v > pool.range.last) throw new Error(`Eip ${eipName} exhausted`);
        const text = ipToString(pool.family, v);
        if (!used.has(text)) {
          ip = text;
          this.nextIp.set(eipName, k + 1);
          break;
        }
      }
    }
    await this.admin.patchServiceStatus(svc.namespace, svc.name, { status: { loadBalancer: { ingress: [{ ip }] } } });
  }

  /** Waits for status.loadBalancer.ingress, then puts the VIP on every node's kube-ipvs0 and programs the proxies. */
  async waitForIp(svc: LabService, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = await this.admin.core.readNamespacedService({ namespace: svc.namespace, name: svc.name });
      const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip) {
        svc.ip = ip;
        for (const n of this.nodes) {
          const prefix = ip.includes(':') ? '128' : '32';
          const r = await n.netns.exec(['ip', 'addr', 'add', `${ip}/${prefix}`, 'dev', 'kube-ipvs0', ...(ip.includes(':') ? ['nodad'] : [])]);
          if (r.code !== 0 && !/exists/i.test(r.stderr)) throw new Error(`add VIP ${ip} on ${n.name}: ${r.stderr}`);
        }
        await this.programProxies(svc);
        this.log(`lab ${this.id}: Service ${svc.key} got ${ip}`);
        return ip;
      }
      await sleep(100);
    }
    throw new Error(`Service ${svc.key} got no IP within ${timeoutMs} ms (is an IPAM leader running?)`);
  }

  /**
   * Replaces the Service's pods: starts/stops HTTP backends in the node agents, rewrites the
   * EndpointSlice (the speakers' Local election reads it) and reprograms every node's proxy.
   */
  async setPods(svc: LabService, pods: PodSpec[]): Promise<LabPod[]> {
    for (const p of svc.pods) await this.node(p.node).agentCommand({ op: 'unpod', name: p.name });
    const made: LabPod[] = [];
    for (const [i, p] of pods.entries()) {
      const node = this.node(p.node);
      const k = ++this.podCounter;
      const ip = `10.244.${node.index + 1}.${(k % 250) + 2}`;
      const name = p.name ?? `${svc.name}-${i}`;
      const r = await node.netns.exec(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
      if (r.code !== 0 && !/exists/i.test(r.stderr)) throw new Error(`pod IP ${ip} on ${node.name}: ${r.stderr}`);
      await node.agentCommand({ op: 'pod', name, ip, port: POD_PORT });
      made.push({ name, node: node.name, ip, ready: p.ready ?? true });
    }
    svc.pods = made;
    await this.writeEndpointSlice(svc);
    if (svc.ip) await this.programProxies(svc);
    return made;
  }

  private async writeEndpointSlice(svc: LabService): Promise<void> {
    const name = `${svc.name}-lab`;
    const body: V1EndpointSlice = {
      metadata: {
        name,
        namespace: svc.namespace,
        labels: { [SERVICE_NAME_LABEL]: svc.name, 'endpointslice.kubernetes.io/managed-by': 'lab.openelb-ts.io', [LAB_LABEL]: this.id },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: POD_PORT, protocol: 'TCP' }],
      endpoints: svc.pods.map((p) => ({
        addresses: [p.ip],
        nodeName: p.node,
        conditions: { ready: p.ready, serving: p.ready, terminating: false },
        targetRef: { kind: 'Pod', name: p.name, namespace: svc.namespace },
      })),
    };
    try {
      const cur = await this.admin.discovery.readNamespacedEndpointSlice({ namespace: svc.namespace, name });
      body.metadata!.resourceVersion = cur.metadata?.resourceVersion;
      await this.admin.discovery.replaceNamespacedEndpointSlice({ namespace: svc.namespace, name, body });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.admin.discovery.createNamespacedEndpointSlice({ namespace: svc.namespace, body });
    }
  }

  /** kube-proxy: Cluster -> every ready pod; Local -> this node's ready pods only. */
  private async programProxies(svc: LabService): Promise<void> {
    for (const n of this.nodes) {
      const backends = svc.pods
        .filter((p) => p.ready && (svc.policy === 'Cluster' || p.node === n.name))
        .map((p) => ({ ip: p.ip, port: POD_PORT }));
      await n.agentCommand({ op: 'svc', vip: svc.ip, port: svc.port, backends });
    }
  }

  /** Deletes a Service (its EndpointSlice and pods too); the VIP leaves the nodes. */
  async deleteServiceNamed(name: string): Promise<void> {
    const svc = this.services.get(name);
    if (!svc) return;
    await this.admin.core.deleteNamespacedService({ namespace: svc.namespace, name });
    await this.admin.discovery.deleteNamespacedEndpointSlice({ namespace: svc.namespace, name: `${name}-lab` }).catch(() => undefined);
    for (const p of svc.pods) await this.node(p.node).agentCommand({ op: 'unpod', name: p.name });
    if (svc.ip) {
      for (const n of this.nodes) {
        await n.agentCommand({ op: 'unsvc', vip: svc.ip, port: svc.port });
        await n.netns.exec(['ip', 'addr', 'del', `${svc.ip}/${svc.ip.includes(':') ? 128 : 32}`, 'dev', 'kube-ipvs0']);
      }
    }
    this.services.delete(name);
  }

  /** Sets or removes (value undefined) a label on a Node object. */
  async labelNode(node: string, key: string, value: string | undefined): Promise<void> {
    await this.admin.core.patchNode(
      { name: node, body: { metadata: { labels: { [key]: value ?? null } } } },
      mergePatchOptions(),
    );
  }

  /** Sets or removes an annotation on a Node object. */
  async annotateNode(node: string, key: string, value: string | undefined): Promise<void> {
    await this.admin.core.patchNode(
      { name: node, body: { metadata: { annotations: { [key]: value ?? null } } } },
      mergePatchOptions(),
    );
  }

  async readService(svc: LabService): Promise<V1Service> {
    return this.admin.core.readNamespacedService({ namespace: svc.namespace, name: svc.name });
  }

  /** The announcer annotation on the Service (`<node>/<nic>`), or undefined. */
  async announcerAnnotation(svc: LabService): Promise<string | undefined> {
    return (await this.readService(svc)).metadata?.annotations?.[ANNOUNCER_ANNOTATION];
  }

  /** Events on the Service (reason, message, source host). */
  async serviceEvents(svc: LabService): Promise<Array<{ reason: string; message: string; type: string; host: string }>> {
    const list = await this.admin.core.listNamespacedEvent({ namespace: svc.namespace, fieldSelector: `involvedObject.name=${svc.name}` });
    return list.items.map((e) => ({
      reason: e.reason ?? '',
      message: e.message ?? '',
      type: e.type ?? '',
      host: e.source?.host ?? e.reportingInstance ?? '',
    }));
  }

  /**
   * What the pure election says for the API's current state: alive = membership Leases with a
   * holder renewed within their duration of the freshest renewal; cannot-serve from their
   * annotations. Map ip -> election.
   */
  async expectedOwners(): Promise<Map<string, Election>> {
    const [svcs, eips, slices, nodes, leases] = await Promise.all([
      this.admin.core.listServiceForAllNamespaces(),
      this.admin.listEips(),
      this.admin.discovery.listEndpointSliceForAllNamespaces(),
      this.admin.core.listNode(),
      this.admin.coordination.listNamespacedLease({ namespace: this.speakerNamespace, labelSelector: MEMBERSHIP_SELECTOR }),
    ]);
    // Liveness the way the speakers judge it when the API is slow (fail-static): relative to the
    // freshest renewal any speaker got through, not to the wall clock, so a stalled API does not make
    // everyone look dead, while a crashed speaker falls behind the others and is.
    // The API server stamps managedFields with ITS clock on every write (1 s resolution): immune to a
    // speaker's wall clock jumping, which renewTime is not.
    const renewOf = (l: V1Lease) => {
      const stamps = (l.metadata?.managedFields ?? []).map((f) => (f.time ? new Date(f.time as unknown as string).getTime() : 0));
      if (stamps.length) return Math.max(...stamps);
      return l.spec?.renewTime ? new Date(l.spec.renewTime as unknown as string).getTime() : 0;
    };
    const held = leases.items.filter((l: V1Lease) => (l.spec?.holderIdentity ?? '') !== '');
    const ref = Math.min(Date.now(), Math.max(0, ...held.map(renewOf)));
    const members = held
      .filter((l: V1Lease) => {
        const dur = (l.spec?.leaseDurationSeconds ?? 1) * 1000;
        return ref - renewOf(l) < dur + 1500; // + the 1 s resolution of managedFields times
      })
      // Beacons: a lab node whose speaker is not running or whose NIC is down is not heard, so it
      // is dead for its pools long before its Lease expires.
      .filter((l: V1Lease) => this.nodes.find((n) => n.name === l.spec!.holderIdentity)?.reachable ?? true)
      .map((l: V1Lease) => ({ node: l.spec!.holderIdentity!, cannotServe: parseNameList(l.metadata?.annotations?.[CANNOT_SERVE_ANNOTATION]) }));
    const claims = buildClaims(
      servicesWithIps(svcs.items.filter((s) => s.metadata?.namespace === this.namespace)),
      layer2Pools(eips.items),
      readyNodesByService(slices.items),
    );
    return electAll(claims.claims, members, nodeFactsFrom(nodes.items as V1Node[]));
  }

  // --- the client's view -------------------------------------------------------------------

  /** One ARP request (IPv4) or Neighbor Solicitation (IPv6) from the client; the answering MAC or null. */
  async arping(ip: string, timeoutS = 2): Promise<string | null> {
    if (ip.includes(':')) {
      const r = await this.client.exec(['ndisc6', '-1', '-r', '2', '-w', String(timeoutS * 500), ip, 'eth0'], { timeoutMs: timeoutS * 1000 + 3000 });
      const m = /Target link-layer address:\s*([0-9A-Fa-f:]{17})/.exec(r.stdout);
      return m ? m[1]!.toLowerCase() : null;
    }
    const r = await this.client.exec(['arping', '-c', '1', '-w', String(timeoutS), '-I', 'eth0', ip], { timeoutMs: timeoutS * 1000 + 3000 });
    const m = /reply from \S+ \[([0-9A-Fa-f:]{17})\]/.exec(r.stdout);
    return m ? m[1]!.toLowerCase() : null;
  }

  /**
   * The distinct MACs that answer one request from the client (answeringMacs in scripts/kit/netns.ts):
   * the independent check that exactly one node answers. The lab's expected owner comes from the
   * project's own election code; this does not.
   */
  arpingAll(ip: string, waitS = 2): Promise<string[]> {
    return answeringMacs(this.client, 'eth0', ip, waitS);
  }

  /** The client's neighbour entry for ip (ip neigh). */
  neighbour(ip: string): Promise<{ mac: string | null; state: string[] } | null> {
    return this.client.neighbour(ip, 'eth0');
  }

  /**
   * Polls the client's neighbour entry (without making the client resolve) until it leaves
   * `fromMac`: the moment a gratuitous ARP/NA from the new owner reached the client. `ms` is from t0.
   */
  async neighbourFlip(ip: string, fromMac: string, t0: number, timeoutMs = 10_000, pollMs = 10): Promise<{ mac: string; ms: number }> {
    while (performance.now() - t0 < timeoutMs) {
      const n = await this.neighbour(ip);
      if (n?.mac && n.mac !== fromMac) return { mac: n.mac, ms: performance.now() - t0 };
      await sleep(pollMs);
    }
    throw new Error(`client's neighbour entry for ${ip} still ${fromMac} after ${timeoutMs} ms\n${this.logs(30)}`);
  }

  /** Makes the client resolve ip (ping once) and returns the neighbour entry's MAC. */
  async resolveFromClient(ip: string): Promise<string | null> {
    await this.client.exec(['ping', '-c', '1', '-W', '1', ip], { timeoutMs: 4000 });
    return (await this.neighbour(ip))?.mac ?? null;
  }

  /** Flushes the client's neighbour entry for ip (a fresh client). */
  async forget(ip: string): Promise<void> {
    await this.client.exec(['ip', 'neigh', 'flush', 'to', ip, 'dev', 'eth0']);
  }

  /** HTTP GET from the client; the body, or throws. */
  async curl(ip: string, port = 80, timeoutS = 3): Promise<string> {
    const host = ip.includes(':') ? `[${ip}]` : ip;
    return (await this.client.run(['curl', '-s', '--max-time', String(timeoutS), `http://${host}:${port}/`], { timeoutMs: timeoutS * 1000 + 2000 })).trim();
  }

  /**
   * Polls arping until a lab node answers for ip (and, if `node` is given, that node); returns the node.
   * The client's neighbour cache is left as the last arping made it.
   */
  async waitForAnnouncer(ip: string, node?: string, timeoutMs = 15_000): Promise<LabNode> {
    const deadline = Date.now() + timeoutMs;
    let last: string | null = null;
    while (Date.now() < deadline) {
      last = await this.arping(ip, 1);
      const n = this.nodeByMac(last);
      if (n && (!node || n.name === node)) return n;
      await sleep(100);
    }
    throw new Error(`no ${node ? `answer from ${node}` : 'lab node answers'} for ${ip} within ${timeoutMs} ms (last MAC ${last ?? 'none'})`);
  }

  /** Speaker logs of every node, for failure messages. */
  logs(lines = 40): string {
    return this.nodes
      .flatMap((n) => n.speakers.map((s, i) => `--- ${n.name} speaker #${i + 1}\n${tail(s.stderr, lines)}`))
      .join('\n');
  }

  // --- teardown ----------------------------------------------------------------------------

  /** Stops speakers and agents, deletes the lab's API objects and namespaces. Idempotent, never throws. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    await Promise.all(this.nodes.map((n) => n.speaker?.stop(2000).catch(() => undefined)));
    await this.image?.removeAll().catch(() => undefined);
    try {
      if (this.admin) {
        // Every Service of this lab, also those a caller created directly (benchmarks), a few at a time.
        const svcs = await this.admin.core.listNamespacedService({ namespace: this.namespace, labelSelector: `${LAB_LABEL}=${this.id}` });
        const names = new Set([...svcs.items.map((s) => s.metadata!.name!), ...[...this.services.values()].map((s) => s.name)]);
        await inBatches([...names], 10, (name) => this.deleteService(this.namespace, name));
        const eips = (await this.admin.listEips()).items.filter((e) => e.metadata.labels?.[LAB_LABEL] === this.id);
        for (const e of eips) await this.deleteEip(e.metadata.name);
        for (const n of this.nodes) await this.admin.core.deleteNode({ name: n.name }).catch(() => undefined);
        await this.admin.coordination.deleteCollectionNamespacedLease({ namespace: this.speakerNamespace }).catch(() => undefined);
      }
    } catch {
      // best effort: the next lab removes leftovers by label
    }
    await Promise.all(this.nodes.map((n) => n.api.close().catch(() => undefined)));
    await this.net.teardown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Write requests the API server counted so far, by `resource verb` (from its /metrics). */
export async function apiWriteCounts(lab: SeedLab): Promise<Map<string, number>> {
  const r = await lab.cp.kubectl(['get', '--raw', '/metrics'], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`API server /metrics: ${r.stderr}`);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const verb = labels.verb ?? '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'].includes(verb)) continue;
    const key = `${labels.resource ?? ''}${labels.subresource ? `/${labels.subresource}` : ''} ${verb}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** after - before, per key, keeping only non-zero differences. */
export function countDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

/** Runs fn again while the API answers with a transient failure (429, 5xx, no answer), up to timeoutMs. */
async function retryTransient<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const kind = classifyError(err);
      if (!['throttled', 'server', 'network', 'timeout'].includes(kind) || Date.now() > deadline) throw err;
      process.stderr.write(`lab: ${what}: transient API failure (${kind}), retrying\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
