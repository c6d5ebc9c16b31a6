// Shared pieces of the IPAM cluster tests: the speaker as the real CLI process (the speaker's
// ServiceAccount kubeconfig, so RBAC is exercised), object builders, and polling helpers.
import { TypedKubeClient } from './typed-client.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { V1Service } from '@kubernetes/client-node';
import { type EipObject } from '../../src/kube/client.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import type { EipInput } from '../../src/ipam/pool.ts';
import type { ControlPlane } from './control-plane.ts';
import { sleep, waitFor } from './wait.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface SpeakerProcess {
  node: string;
  proc: ChildProcess;
  /** stderr so far (JSON log lines). */
  log(): string;
  /** SIGTERM and wait for exit (graceful: releases the Lease). */
  stop(): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/**
 * `openelb-ts speaker --enable-layer2=false` as its own process. Run as `node --import tsx`, not
 * `npx tsx`, so a signal reaches the speaker itself and not an npm/tsx wrapper.
 */
export function startSpeaker(cp: ControlPlane, node: string, extra: string[] = []): SpeakerProcess {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(REPO_ROOT, 'src/cli/main.ts'), 'speaker', '--enable-layer2=false', '--node-name', node,
      '--kubeconfig', cp.speakerKubeconfig, '--metrics-addr', '', '--health-addr', '', ...extra],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KUBECONFIG: '' } },
  );
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err += d;
    if (err.length > 2_000_000) err = err.slice(-1_000_000);
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    node,
    proc,
    log: () => err,
    exited,
    kill: (s) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(s);
    },
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function admin(cp: ControlPlane): TypedKubeClient {
  return new TypedKubeClient(cp.adminConfig(), { requestTimeoutMs: 30_000 });
}

// Polling helpers live in wait.ts (free of Kubernetes imports, for the netns tests too).
export { sleep, waitFor };

/** Holder of the openelb-ipam Lease ('' when none). */
export async function ipamHolder(c: TypedKubeClient): Promise<string> {
  try {
    const l = await c.coordination.readNamespacedLease({ namespace: 'openelb-system', name: 'openelb-ipam' });
    return l.spec?.holderIdentity ?? '';
  } catch (err) {
    if (isNotFound(err)) return '';
    throw err;
  }
}

export async function waitLeader(c: TypedKubeClient, node: string, timeoutMs = 15_000, sp?: SpeakerProcess): Promise<void> {
  try {
    await waitFor(`${node} to hold openelb-ipam`, async () => (await ipamHolder(c)) === node, timeoutMs);
  } catch (err) {
    if (sp) process.stderr.write(`--- speaker ${sp.node} log:\n${sp.log().slice(-5000)}\n`);
    throw err;
  }
}

/** An Eip spec as tests write it: the IPAM's own input shape, with the selector as a label map. */
export type EipSpecIn = Omit<EipInput['spec'], 'namespaceSelector'> & { namespaceSelector?: Record<string, string> };

export async function createEip(c: TypedKubeClient, name: string, spec: EipSpecIn, annotations: Record<string, string> = {}): Promise<EipObject> {
  return (await c.custom.createClusterCustomObject({
    group: 'network.kubesphere.io',
    version: 'v1alpha2',
    plural: 'eips',
    body: { apiVersion: 'network.kubesphere.io/v1alpha2', kind: 'Eip', metadata: { name, annotations }, spec: { protocol: 'layer2', interface: 'eth0', ...spec } },
  })) as EipObject;
}

export async function getEip(c: TypedKubeClient, name: string): Promise<EipObject | undefined> {
  try {
    return await c.getEip(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export interface SvcOpts {
  annotations?: Record<string, string>;
  ports?: Array<{ port: number; protocol?: string }>;
  loadBalancerIP?: string;
  loadBalancerClass?: string;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  type?: string;
  /** Without the opt-in annotation. */
  noOptIn?: boolean;
  /** spec.allocateLoadBalancerNodePorts: false (thousands of Services would exhaust the NodePort range). */
  noNodePorts?: boolean;
}

export function serviceBody(ns: string, name: string, o: SvcOpts = {}): V1Service {
  const type = o.type ?? 'LoadBalancer';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: ns,
      annotations: { ...(o.noOptIn ? {} : { 'lb.kubesphere.io/v1alpha1': 'openelb' }), ...o.annotations },
    },
    spec: {
      type,
      selector: { app: name },
      ports: (o.ports ?? [{ port: 80 }]).map((p, i) => ({ name: `p${i}`, port: p.port, protocol: p.protocol ?? 'TCP', targetPort: 8080 as unknown as never })),
      ...(type === 'LoadBalancer' ? { externalTrafficPolicy: o.externalTrafficPolicy ?? 'Cluster' } : {}),
      ...(o.loadBalancerIP ? { loadBalancerIP: o.loadBalancerIP } : {}),
      ...(o.loadBalancerClass ? { loadBalancerClass: o.loadBalancerClass } : {}),
      ...(o.ipFamilies ? { ipFamilies: o.ipFamilies } : {}),
      ...(o.ipFamilyPolicy ? { ipFamilyPolicy: o.ipFamilyPolicy } : {}),
      ...(o.noNodePorts ? { allocateLoadBalancerNodePorts: false } : {}),
    },
  };
}

export async function createService(c: TypedKubeClient, ns: string, name: string, o: SvcOpts = {}): Promise<V1Service> {
  return c.core.createNamespacedService({ namespace: ns, body: serviceBody(ns, name, o) });
}

export async function getService(c: TypedKubeClient, ns: string, name: string): Promise<V1Service | undefined> {
  try {
    return await c.core.readNamespacedService({ namespace: ns, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export const ips = (s: V1Service | undefined): string[] => (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);

/** Wait until the Service shows exactly `want` (or, with a function, any IPs it accepts). */
export async function waitIPs(c: TypedKubeClient, ns: string, name: string, want: string[] | ((ips: string[]) => boolean), timeoutMs = 15_000): Promise<string[]> {
  return waitFor(`${ns}/${name} to get ${typeof want === 'function' ? 'IPs' : want.join(',') || 'no IP'}`, async () => {
    const got = ips(await getService(c, ns, name));
    const ok = typeof want === 'function' ? want(got) : got.join(',') === want.join(',');
    return ok ? got : (false as const);
  }, timeoutMs);
}

/** Events about one object (newest last). */
export async function eventsFor(c: TypedKubeClient, ns: string, name: string): Promise<Array<{ reason: string; type: string; message: string }>> {
  const list = await c.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items
    .sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', message: e.message ?? '' }));
}

export async function waitEvent(c: TypedKubeClient, ns: string, name: string, reason: string, match?: RegExp, timeoutMs = 15_000): Promise<{ reason: string; type: string; message: string }> {
  return waitFor(`event ${reason} on ${ns}/${name}`, async () => (await eventsFor(c, ns, name)).find((e) => e.reason === reason && (!match || match.test(e.message))), timeoutMs);
}

/** Delete Services (the running speaker removes its finalizer) and then Eips, and wait until gone. */
export async function cleanup(c: TypedKubeClient, services: Array<[string, string]>, eips: string[], timeoutMs = 20_000): Promise<void> {
  const remove = (list: Array<[string, string]>) =>
    Promise.all(list.map(([ns, name]) => c.core.deleteNamespacedService({ namespace: ns, name }).catch(() => {})));
  // On a shared control plane, a default pool (or one open to every namespace) also serves other
  // files' leftover pending Services; their allocations hold the Eip's finalizer too, so they go.
  const holders = async (): Promise<Array<[string, string]>> => {
    const out: Array<[string, string]> = [];
    for (const e of await Promise.all(eips.map((n) => getEip(c, n)))) {
      const used = (e?.status as { used?: Record<string, string> } | undefined)?.used ?? {};
      for (const v of Object.values(used)) for (const key of v.split(';')) if (key.includes('/')) out.push(key.split('/', 2) as [string, string]);
    }
    return out;
  };
  await remove([...services, ...(await holders())]);
  await waitFor('Services to be deleted', async () => (await Promise.all(services.map(([ns, n]) => getService(c, ns, n)))).every((s) => !s), timeoutMs);
  await Promise.all(eips.map((n) => c.custom.deleteClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: n }).catch(() => {})));
  try {
    await waitFor('Eips to be deleted', async () => {
      await remove(await holders()); // anything allocated before the Eip was marked deleting
      return (await Promise.all(eips.map((n) => getEip(c, n)))).every((e) => !e);
    }, timeoutMs);
  } catch (err) {
    // Say what holds them: which Eips are left, their finalizers, allocations and conditions.
    const left = (await Promise.all(eips.map((n) => getEip(c, n)))).filter((e) => e);
    const detail = left.map((e) => JSON.stringify({
      name: e!.metadata.name,
      finalizers: e!.metadata.finalizers,
      used: (e!.status as { used?: unknown } | undefined)?.used,
      conditions: (e!.status as { conditions?: Array<{ type: string; reason: string }> } | undefined)?.conditions?.map((x) => `${x.type}:${x.reason}`),
    }));
    throw new Error(`${(err as Error).message}; left: ${detail.join(' ')}`, { cause: err });
  }
}

/** Every IP held by two or more Services of `list` that hold it (duplicates), as "ip: a, b". */
export function duplicates(list: V1Service[]): string[] {
  const by = new Map<string, string[]>();
  for (const s of list) for (const ip of ips(s)) by.set(ip, [...(by.get(ip) ?? []), `${s.metadata?.namespace}/${s.metadata?.name}`]);
  return [...by].filter(([, v]) => v.length > 1).map(([ip, v]) => `${ip}: ${v.join(', ')}`);
}
