// `openelb-ts doctor`: checks what Layer 2 mode needs on this node and in the cluster, prints
// each check as ok / PROBLEM / ? (cannot tell) with the fix, and exits 1 when a problem is found.
// This file only gathers facts (API, /sys, /proc); every verdict is a pure function in src/doctor/.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import process from 'node:process';
import { type FlagSpec, UsageError, helpText, parseFlags } from './flags.ts';
import type { V1DaemonSet, V1Deployment, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { KubeClient, type ObjectList, describeSource } from '../kube/client.ts';
import { classifyError, describeError } from '../kube/errors.ts';
import { type NicFacts, readNicFacts } from '../l2/interfaces.ts';
import { NODE_NIC_ANNOTATION } from '../speaker/nic-choice.ts';
import { type ApiFact, type EipListFact, checkApi, checkEips } from '../doctor/api.ts';
import { type ArpConf, checkArpSysctls, parseSysctlInt, sysctlTargets } from '../doctor/arp-sysctl.ts';
import { type NetRawFact, checkNetRaw } from '../doctor/capability.ts';
import { type LivenessFact, checkLiveness } from '../doctor/liveness.ts';
import { membershipLeaseName } from '../kube/membership.ts';
import { LEASE_ONLY_ANNOTATION } from '../speaker/liveness.ts';
import { type KubeProxySource, checkKubeProxy, parseKubeProxyConfig } from '../doctor/kube-proxy.ts';
import { type PoolInput, checkPoolNic, localPoolIps } from '../doctor/pool-nic.ts';
import { exitCodeOf, formatJson, formatText, summarize } from '../doctor/report.ts';
import { checkUpstream, type Listed, type WebhookFact, type WorkloadFact } from '../doctor/upstream.ts';
import { type CheckResult, cannotTell, failed, passed } from '../doctor/result.ts';
import { type BgpFacts, type BgpPeerFact, type BgpProbe, checkBgp } from '../doctor/bgp.ts';
import { matchSelector } from '../speaker/label-selector.ts';
import { connect as tcpConnect } from 'node:net';
import { type ParsedAddress } from '../ipam/range.ts';

const SUMMARY =
  'Check this node and the cluster for what Layer 2 mode needs (kube-proxy mode/strictARP, ARP sysctls, ' +
  'each layer2 Eip\'s NIC and subnet, CAP_NET_RAW, API access) and, when BGP is configured, BgpConf default ' +
  'and each BgpPeer\'s session from this node (probing the peer\'s port when it is down). Exit 1 when a problem is found.';

export const doctorFlags: FlagSpec[] = [
  { name: 'kubeconfig', kind: 'string', help: 'kubeconfig file; empty = KUBECONFIG, in-cluster ServiceAccount, then ~/.kube/config' },
  { name: 'node-name', env: 'NODE_NAME', kind: 'string', help: 'this node\'s Kubernetes name (node annotation lookup); default: the hostname' },
  { name: 'interface', env: 'OPENELB_DOCTOR_INTERFACE', kind: 'string', help: 'with --address: the NIC (or can_reach:<IP>) to check the pool on, like an Eip\'s spec.interface' },
  { name: 'address', env: 'OPENELB_DOCTOR_ADDRESS', kind: 'list', help: 'check this pool (IP, CIDR or range, like an Eip\'s spec.address) instead of the cluster\'s layer2 Eips; repeatable' },
  { name: 'namespace', env: 'OPENELB_NAMESPACE', kind: 'string', default: 'openelb-system', help: 'namespace of the speakers\' Leases (for the liveness check)' },
  { name: 'offline', env: 'OPENELB_DOCTOR_OFFLINE', kind: 'boolean', default: false, help: 'do not contact the API server; check only this node' },
  { name: 'api-timeout-ms', env: 'OPENELB_DOCTOR_API_TIMEOUT_MS', kind: 'number', default: 5000, help: 'deadline of each API request' },
  { name: 'output', env: 'OPENELB_DOCTOR_OUTPUT', kind: 'string', default: 'text', help: 'text or json' },
];

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readArpConf(name: string): ArpConf | undefined {
  const dir = `/proc/sys/net/ipv4/conf/${name}`;
  const ignore = parseSysctlInt(readOptional(`${dir}/arp_ignore`));
  const announce = parseSysctlInt(readOptional(`${dir}/arp_announce`));
  if (ignore === undefined && announce === undefined) return undefined;
  return { ...(ignore !== undefined ? { arpIgnore: ignore } : {}), ...(announce !== undefined ? { arpAnnounce: announce } : {}) };
}

async function netRawFact(): Promise<NetRawFact> {
  try {
    // Loading the module loads koffi: a failure here is exactly what the speaker would hit.
    const { hasNetRaw } = await import('../../native-bindings/packet-socket.ts');
    const uid = process.getuid?.();
    return { loaded: true, hasNetRaw: hasNetRaw(), ...(uid !== undefined ? { uid } : {}) };
  } catch (err) {
    return { loaded: false, error: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

interface ApiView {
  api: ApiFact;
  client?: KubeClient;
}

async function connect(kubeconfig: string | undefined, timeoutMs: number, standalone: boolean): Promise<ApiView> {
  let loaded: ReturnType<typeof KubeClient.load>;
  try {
    loaded = KubeClient.load(kubeconfig, { requestTimeoutMs: timeoutMs, userAgent: 'openelb-ts-doctor' });
  } catch (err) {
    const message = (err as Error).message;
    if (/no Kubernetes credentials/.test(message)) return { api: { kind: 'no-credentials', message, standalone } };
    return { api: { kind: 'bad-kubeconfig', message } };
  }
  const { client, source } = loaded;
  const src = describeSource(source);
  try {
    const v = await client.getVersion();
    return { api: { kind: 'reached', server: client.server, source: src, version: v.gitVersion }, client };
  } catch (err) {
    const kind = classifyError(err);
    // 403 on /version still proves the server is there and knows who we are.
    if (kind === 'forbidden') return { api: { kind: 'reached', server: client.server, source: src }, client };
    return { api: { kind: 'failed', server: client.server, source: src, error: kind, message: describeError(err) } };
  }
}

async function kubeProxySource(client: KubeClient | undefined, why: string): Promise<KubeProxySource> {
  if (!client) return { kind: 'no-api', why };
  try {
    const cm = await client.getConfigMap('kube-system', 'kube-proxy');
    return { kind: 'found', data: cm.data };
  } catch (err) {
    const kind = classifyError(err);
    if (kind === 'notFound') return { kind: 'missing' };
    if (kind === 'forbidden') return { kind: 'forbidden', message: describeError(err) };
    return { kind: 'error', message: describeError(err) };
  }
}

/** Deployments and DaemonSets in every namespace, reduced to what identifies upstream OpenELB. */
async function workloadFacts(client: KubeClient | undefined, why: string): Promise<Listed<WorkloadFact>> {
  if (!client) return { kind: 'no-api', why };
  try {
    const [deps, dss] = await Promise.all([
      client.get<ObjectList<V1Deployment>>('/apis/apps/v1/deployments'),
      client.get<ObjectList<V1DaemonSet>>('/apis/apps/v1/daemonsets'),
    ]);
    const fact = (kind: WorkloadFact['kind']) => (o: { metadata?: { namespace?: string; name?: string }; spec?: { template?: { spec?: { containers?: Array<{ image?: string; command?: string[] }> } } } }): WorkloadFact => {
      const cs = o.spec?.template?.spec?.containers ?? [];
      return { kind, namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', images: cs.map((c) => c.image ?? ''), commands: cs.map((c) => c.command?.[0] ?? '') };
    };
    return { kind: 'listed', items: [...deps.items.map(fact('Deployment')), ...dss.items.map(fact('DaemonSet'))] };
  } catch (err) {
    return { kind: 'failed', message: `listing Deployments/DaemonSets: ${describeError(err)}` };
  }
}

async function webhookFacts(client: KubeClient | undefined, why: string): Promise<Listed<WebhookFact>> {
  if (!client) return { kind: 'no-api', why };
  try {
    const [v, m] = await Promise.all([
      client.get<ObjectList<V1ValidatingWebhookConfiguration>>('/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations'),
      client.get<ObjectList<V1MutatingWebhookConfiguration>>('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'),
    ]);
    type Hook = { name?: string; clientConfig?: { service?: { path?: string } } };
    const fact = (kind: WebhookFact['kind']) => (o: { metadata?: { name?: string }; webhooks?: Hook[] }): WebhookFact => ({
      kind,
      name: o.metadata?.name ?? '',
      hooks: (o.webhooks ?? []).flatMap((h) => [h.name ?? '', h.clientConfig?.service?.path ?? '']),
    });
    return { kind: 'listed', items: [...v.items.map(fact('ValidatingWebhookConfiguration')), ...m.items.map(fact('MutatingWebhookConfiguration'))] };
  } catch (err) {
    return { kind: 'failed', message: `listing admission webhook configurations: ${describeError(err)}` };
  }
}

async function livenessFact(client: KubeClient | undefined, why: string, namespace: string, node: string): Promise<LivenessFact> {
  if (!client) return { kind: 'no-api', why };
  const lease = `${namespace}/${membershipLeaseName(node)}`;
  try {
    const l = await client.getLease(namespace, membershipLeaseName(node), 5000);
    if (!l) return { kind: 'no-lease', lease };
    const v = l.metadata?.annotations?.[LEASE_ONLY_ANNOTATION] ?? '';
    return { kind: 'lease', lease, holder: l.spec?.holderIdentity ?? '', leaseOnlyNics: v.split(',').map((s) => s.trim()).filter(Boolean) };
  } catch (err) {
    if (classifyError(err) === 'notFound') return { kind: 'no-lease', lease };
    return { kind: 'error', lease, message: describeError(err) };
  }
}

async function nodeAnnotation(client: KubeClient, node: string): Promise<{ result: CheckResult; ip?: string }> {
  try {
    const n = await client.getNode(node);
    const ip = n.metadata?.annotations?.[NODE_NIC_ANNOTATION];
    return {
      result: passed('node', `Node ${node} found${ip ? `, annotation ${NODE_NIC_ANNOTATION}=${ip} picks the NIC` : ''}`),
      ...(ip ? { ip } : {}),
    };
  } catch (err) {
    const kind = classifyError(err);
    if (kind === 'notFound') {
      return {
        result: failed(
          'node',
          `there is no Node named ${node}: the speaker on this machine would never be elected for any IP`,
          'set --node-name (env NODE_NAME) to this node\'s name as `kubectl get nodes` shows it; the DaemonSet sets it from spec.nodeName',
        ),
      };
    }
    return { result: cannotTell('node', `cannot read Node ${node} (${describeError(err)}): the node NIC annotation was not considered`) };
  }
}

/** One TCP connect to host:port, closed at once (no BGP byte sent); how it ended. */
function probeTcp(host: string, port: number, timeoutMs: number): Promise<BgpProbe> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = tcpConnect({ host, port, timeout: timeoutMs });
    const done = (p: BgpProbe) => {
      sock.destroy();
      resolve(p);
    };
    sock.once('connect', () => done({ kind: 'connected', ms: performance.now() - t0 }));
    sock.once('timeout', () => done({ kind: 'timeout', ms: performance.now() - t0 }));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', message: err.message }));
  });
}

type Rec = Record<string, unknown>;
const rec = (x: unknown): Rec => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Rec) : {});

/**
 * BgpConf default, the BgpPeers (with this node's status entry and, for a session that is not
 * established, one TCP probe of the peer's port) and how many Eips are bgp (or have no protocol,
 * OpenELB's default).
 */
async function bgpFacts(client: KubeClient | undefined, why: string, node: string, eips: Array<{ spec?: Record<string, unknown> }>, probeMs: number): Promise<BgpFacts> {
  if (!client) return { kind: 'no-api', why };
  type BgpObj = { metadata: { name: string }; spec?: unknown; status?: unknown };
  let confs: ObjectList<BgpObj>;
  let peers: ObjectList<BgpObj>;
  try {
    [confs, peers] = await Promise.all([
      client.get<ObjectList<BgpObj>>('/apis/network.kubesphere.io/v1alpha2/bgpconfs'),
      client.get<ObjectList<BgpObj>>('/apis/network.kubesphere.io/v1alpha2/bgppeers'),
    ]);
  } catch (err) {
    if (classifyError(err) === 'notFound') return { kind: 'no-crd' };
    return { kind: 'failed', message: describeError(err) };
  }
  let labels: Record<string, string> = {};
  try {
    labels = (await client.getNode(node)).metadata?.labels ?? {};
  } catch {
    // The node check above reports a missing Node; selection then counts every peer as selecting us.
  }
  const facts: BgpPeerFact[] = await Promise.all(
    peers.items.map(async (p) => {
      const spec = rec(p.spec);
      const conf = rec(spec.conf ?? spec.config);
      const transport = rec(spec.transport);
      const sel = spec.nodeSelector === undefined || spec.nodeSelector === null ? { ok: true, matches: true } : matchSelector(spec.nodeSelector, labels);
      const e = rec(rec(rec(p.status).nodesPeerStatus)[node]);
      const peerState = rec(e.peerState);
      const timers = rec(e.timersState);
      const text = (x: unknown) => (typeof x === 'string' && x !== '' ? x : undefined);
      const fact: BgpPeerFact = {
        name: p.metadata.name,
        neighborAddress: text(conf.neighborAddress) ?? text(conf['neighbor-address']) ?? '',
        port: typeof transport.remotePort === 'number' && transport.remotePort > 0 ? transport.remotePort : 179,
        passive: transport.passiveMode === true,
        md5: text(conf.authPassword) !== undefined,
        selected: sel.ok && sel.matches,
      };
      const state = text(peerState.sessionState);
      if (state) {
        fact.entry = { sessionState: state };
        const lastError = text(e.lastError);
        if (lastError) fact.entry.lastError = lastError;
        const uptime = text(timers.uptime);
        if (uptime) fact.entry.uptime = uptime;
        const hold = text(timers.negotiatedHoldTime);
        if (hold) fact.entry.negotiatedHoldTime = hold;
      }
      // Never probe an established session's router: a second connection from us would collide with it.
      if (fact.selected && fact.entry && fact.entry.sessionState.toUpperCase() !== 'ESTABLISHED' && !fact.passive && fact.neighborAddress) {
        fact.probe = await probeTcp(fact.neighborAddress, fact.port, probeMs);
      }
      return fact;
    }),
  );
  const conf = confs.items.find((c) => c.metadata.name === 'default');
  const bgpEips = eips.filter((e) => e.spec?.protocol === 'bgp' || e.spec?.protocol === undefined || e.spec?.protocol === '').length;
  return { kind: 'listed', conf: conf ? { name: conf.metadata.name } : undefined, peers: facts, bgpEips };
}

function eipPools(items: Array<{ metadata: { name: string }; spec?: Record<string, unknown> }>): PoolInput[] {
  return items
    .filter((e) => e.spec?.protocol === 'layer2')
    .map((e) => ({
      name: e.metadata.name,
      address: typeof e.spec?.address === 'string' ? e.spec.address : '',
      ...(typeof e.spec?.interface === 'string' && e.spec.interface !== '' ? { interface: e.spec.interface } : {}),
    }));
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText('doctor', SUMMARY, doctorFlags) + '\n');
    return 0;
  }
  const { values, rest } = parseFlags(doctorFlags, argv);
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}" (see --help)`);
  const output = values.output as string;
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output: "${output}" is not text or json`);
  const addresses = (values.address as string[] | undefined) ?? [];
  const iface = (values.interface as string | undefined) || undefined;
  if (iface && addresses.length === 0) throw new UsageError('--interface needs --address: the pool to check on that NIC');
  const standalone = addresses.length > 0;
  const node = (values['node-name'] as string | undefined) || hostname();

  const checks: CheckResult[] = [];
  const facts: NicFacts = readNicFacts();

  // --- API side
  const view: ApiView = values.offline
    ? { api: { kind: 'offline' } }
    : await connect((values.kubeconfig as string | undefined) || undefined, values['api-timeout-ms'] as number, standalone);
  checks.push(checkApi(view.api));
  const client = view.client;

  let pools: PoolInput[] = addresses.map((a, i) => ({
    name: addresses.length > 1 ? `--address[${i}]` : '--address',
    address: a,
    fromFlags: true,
    ...(iface ? { interface: iface } : {}),
  }));
  let eipFact: EipListFact = { kind: 'skipped' };
  let eipItems: Array<{ spec?: Record<string, unknown> }> = [];
  if (client && !standalone) {
    try {
      const list = await client.listEips();
      eipItems = list.items;
      pools = eipPools(list.items);
      eipFact = { kind: 'listed', total: list.items.length, layer2: pools.length };
    } catch (err) {
      eipFact = { kind: 'failed', error: classifyError(err), message: describeError(err) };
    }
  }
  const eipCheck = checkEips(eipFact);
  if (eipCheck) checks.push(eipCheck);

  const noApiWhy = view.api.kind === 'offline' ? '--offline' : 'the API server was not reached';
  const proxySource = await kubeProxySource(client, noApiWhy);
  checks.push(checkKubeProxy(proxySource));
  let proxyMode: string | undefined;
  if (proxySource.kind === 'found' && proxySource.data?.['config.conf'] !== undefined) {
    const parsed = parseKubeProxyConfig(proxySource.data['config.conf']);
    if (parsed.ok) proxyMode = parsed.value.mode;
  }

  if (!standalone) checks.push(checkUpstream(await workloadFacts(client, noApiWhy), await webhookFacts(client, noApiWhy)));

  let annotationIp: string | undefined;
  if (client) {
    const n = await nodeAnnotation(client, node);
    checks.push(n.result);
    annotationIp = n.ip;
  }
  if (!standalone) checks.push(checkLiveness(await livenessFact(client, noApiWhy, values.namespace as string, node)));
  if (!standalone) checks.push(...checkBgp(await bgpFacts(client, noApiWhy, node, eipItems, Math.min(3000, values['api-timeout-ms'] as number))));

  // --- this node: each pool's NIC and subnet, then the ARP sysctls of the NICs chosen
  const byNic = new Map<string, ParsedAddress[]>();
  for (const pool of pools) {
    const v = checkPoolNic({ pool, facts, node, ...(annotationIp ? { nodeAnnotationIp: annotationIp } : {}) });
    checks.push(...v.results);
    if (v.nic && v.range) byNic.set(v.nic, [...(byNic.get(v.nic) ?? []), v.range]);
  }
  const all = readArpConf('all') ?? {};
  const families = new Map([...byNic].map(([nic, ranges]) => [nic, ranges.map((r) => r.family)]));
  for (const nic of sysctlTargets(families, pools.length > 0)) {
    const ranges = (byNic.get(nic) ?? []).filter((r) => r.family === 4);
    checks.push(
      checkArpSysctls({
        nic,
        all,
        iface: nic === 'all' ? all : readArpConf(nic),
        proxyMode,
        localPoolIps: [...new Set(ranges.flatMap((r) => localPoolIps(facts, r)))],
      }),
    );
  }

  checks.push(checkNetRaw(await netRawFact()));

  const report = summarize(node, checks);
  process.stdout.write(output === 'json' ? formatJson(report) : formatText(report));
  return exitCodeOf(checks);
}
