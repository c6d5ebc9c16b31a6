// BGP mode against real routers (issue 15's goals; results in BENCHMARKS.md "BGP"). Needs root and
// BIRD/FRR (README's apt-get line); GoBGP and the control plane are built on first use.
//   npx tsx scripts/bench/bgp.ts        -> one JSON object on stdout, progress on stderr
//   BGP_SOAK_S=120 BGP_SAMPLES=20 BGP_SERVICES=1000 (defaults)
//
// Topology: scripts/lab/bgp-lab.ts (three nodes running our speaker, BIRD and FRR installing ECMP
// routes into their namespaces' kernel FIBs, GoBGP on the LAN). Every time is read from the
// routers' side, polling every 2 ms (so each figure carries up to ~2 ms of polling plus an `ip`
// or `birdc` exec):
//   fib:      a Service's status.loadBalancer written (the PATCH answered) -> the VIP in BIRD's and
//             FRR's kernel FIB with all three nodes as next hops;
//   withdraw: SIGTERM to one node's speaker -> its next hop gone from both FIBs;
//   bulk:     1,000 Services exist before any BgpPeer; BgpPeers for BIRD and FRR are created ->
//             each of the six sessions established (first seen) -> that session has all 1,000
//             prefixes (the router's own count);
//   soak:     every session to BIRD, FRR and GoBGP with hold 3 s / keepalive 1 s for BGP_SOAK_S
//             seconds (120 s = 120 KEEPALIVEs per session, an hour's worth at the default 30 s)
//             while a Service is created and an old one deleted every 2 s: any session whose
//             router-side state changed (since, drops, NOTIFICATIONs, last error) is reported.
import process from 'node:process';
import { BgpLab } from '../lab/bgp-lab.ts';
import { inBatches } from '../lab/lab.ts';
import { LAB_LABEL } from '../lab/lab.ts';
import { fibNextHops } from '../kit/bgp/fib.ts';
import type { RouterKind, SessionInfo } from '../kit/bgp/router.ts';
import type { V1Service } from '@kubernetes/client-node';

const SOAK_S = Number(process.env.BGP_SOAK_S ?? 120);
const SAMPLES = Number(process.env.BGP_SAMPLES ?? 20);
const SERVICES = Number(process.env.BGP_SERVICES ?? 1000);
const progress = (msg: string): void => void process.stderr.write(`[bgp-bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FIB: RouterKind[] = ['bird', 'frr'];

function stats(xs: number[]): { n: number; median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, median: +at(0.5).toFixed(1), p90: +at(0.9).toFixed(1), max: +(s[s.length - 1] ?? NaN).toFixed(1) };
}

/** Pool address k (172.22.0.0/21 from .1): room for BGP_SERVICES and the samples. */
const poolIp = (k: number) => `172.22.${(k + 1) >> 8}.${(k + 1) & 0xff}`;

// GoBGP passive: while it is no BgpPeer yet (it joins for the soak) its own connection attempts
// are refused by the speakers, and GoBGP 3.37.0 was seen to stay Idle for a node after that.
const lab = await BgpLab.create({ seed: { ipam: false }, passiveRouters: ['gobgp'] });
const result: Record<string, unknown> = { node: process.version };
try {
  const seed = lab.seed;
  const admin = seed.admin;
  const nodes = seed.nodes.map((n) => n.name);
  const allIps = lab.nodeIps(nodes);
  await lab.applyBgpConf();
  await lab.createBgpEip('172.22.0.1-172.22.7.254');
  await seed.startSpeakers();

  let k = 0;
  /** A Cluster Service without pods (Cluster routes do not depend on endpoints); status optional. */
  const service = async (name: string, ip?: string): Promise<void> => {
    const body: V1Service = {
      metadata: { name, namespace: seed.namespace, labels: { [LAB_LABEL]: seed.id }, annotations: { 'lb.kubesphere.io/v1alpha1': 'openelb', 'eip.openelb.kubesphere.io/v1alpha2': 'bgp-eip' } },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], externalTrafficPolicy: 'Cluster' },
    };
    await admin.core.createNamespacedService({ namespace: seed.namespace, body });
    if (ip) await admin.patchServiceStatus(seed.namespace, name, { status: { loadBalancer: { ingress: [{ ip }] } } });
  };

  // --- bulk: 1,000 Services before any peer, then two peers
  progress(`creating ${SERVICES} Services with status`);
  const t0c = performance.now();
  const bulk = Array.from({ length: SERVICES }, (_, i) => ({ name: `bulk-${i}`, ip: poolIp(k++) }));
  await inBatches(bulk, 8, (s) => service(s.name, s.ip));
  progress(`created in ${Math.round(performance.now() - t0c)} ms; creating BgpPeers for BIRD and FRR`);
  const t0 = performance.now();
  for (const kind of FIB) await lab.applyBgpPeer({ name: `lab-${kind}`, router: kind, holdTime: 3, keepaliveInterval: 1, connectRetry: 2 });
  const est = new Map<string, number>();
  const done = new Map<string, number>();
  while (done.size < FIB.length * nodes.length && performance.now() - t0 < 120_000) {
    for (const kind of FIB) {
      for (const s of await lab.router(kind).router.sessions()) {
        const key = `${kind} ${s.peer}`;
        const now = performance.now() - t0;
        if (s.state === 'established' && !est.has(key)) est.set(key, now);
        if ((s.prefixesReceived ?? 0) >= SERVICES && !done.has(key)) done.set(key, now);
      }
    }
    await sleep(20);
  }
  const afterEst = [...done].map(([key, t]) => t - (est.get(key) ?? 0));
  result.bulk = {
    services: SERVICES,
    pollMs: 20,
    sessions: done.size,
    establishedToAllPrefixesMs: stats(afterEst),
    peerCreatedToAllPrefixesMs: stats([...done.values()]),
  };
  progress(`bulk: ${JSON.stringify(result.bulk)}`);
  progress('deleting the bulk Services');
  await inBatches(bulk, 8, (s) => admin.core.deleteNamespacedService({ namespace: seed.namespace, name: s.name }).then(() => undefined));
  for (const kind of FIB) await lab.waitForFib(kind, bulk[SERVICES - 1]!.ip, [], 120_000);

  // --- fib: status written -> kernel FIB, per router
  for (const kind of FIB) await lab.waitEstablished(kind);
  const fibMs: Record<string, number[]> = { bird: [], frr: [] };
  for (let i = 0; i < SAMPLES; i++) {
    const ip = poolIp(k++);
    await service(`fib-${i}`, undefined);
    const t = performance.now();
    await admin.patchServiceStatus(seed.namespace, `fib-${i}`, { status: { loadBalancer: { ingress: [{ ip }] } } });
    const written = performance.now();
    await Promise.all(
      FIB.map(async (kind) => {
        while ((await fibNextHops(lab.router(kind).ns, `${ip}/32`)).join(',') !== allIps.join(',')) {
          if (performance.now() - t > 10_000) throw new Error(`${kind}: ${ip} not in the FIB after 10 s`);
          await sleep(2);
        }
        fibMs[kind]!.push(performance.now() - written);
      }),
    );
  }
  result.fib = { bird: stats(fibMs.bird!), frr: stats(fibMs.frr!) };
  progress(`fib: ${JSON.stringify(result.fib)}`);

  // --- withdraw: SIGTERM -> next hop gone
  const probeIp = poolIp(k - 1);
  const wdMs: Record<string, number[]> = { bird: [], frr: [] };
  for (let i = 0; i < Math.min(SAMPLES, 6); i++) {
    const node = seed.nodes[i % seed.nodes.length]!;
    const rest = allIps.filter((x) => x !== node.spec.ip4).join(',');
    const t = performance.now();
    const stopped = node.stopSpeaker();
    await Promise.all(
      FIB.map(async (kind) => {
        while ((await fibNextHops(lab.router(kind).ns, `${probeIp}/32`)).join(',') !== rest) {
          if (performance.now() - t > 10_000) throw new Error(`${kind}: ${node.name} still a next hop 10 s after SIGTERM`);
          await sleep(2);
        }
        wdMs[kind]!.push(performance.now() - t);
      }),
    );
    await stopped;
    await node.startSpeaker();
    for (const kind of FIB) await lab.waitForFib(kind, probeIp, nodes, 30_000);
  }
  result.withdrawOnSigterm = { bird: stats(wdMs.bird!), frr: stats(wdMs.frr!) };
  progress(`withdraw: ${JSON.stringify(result.withdrawOnSigterm)}`);

  // --- soak (GoBGP joins only now: after resets, GoBGP 3.37.0 was seen to stay Idle for a node,
  // refusing its connections for minutes; the SIGTERMs above would trigger that, and the soak is
  // about sessions that stay up)
  await lab.applyBgpPeer({ name: 'lab-gobgp', router: 'gobgp', holdTime: 3, keepaliveInterval: 1, connectRetry: 2 });
  for (const kind of ['bird', 'frr', 'gobgp'] as const) await lab.waitEstablished(kind);
  await sleep(3000);
  const snap = async (): Promise<Map<string, SessionInfo>> => {
    const out = new Map<string, SessionInfo>();
    for (const [kind, sessions] of await lab.sessions()) for (const s of sessions) out.set(`${kind} ${s.peer}`, s);
    return out;
  };
  const before = await snap();
  progress(`soak: ${SOAK_S} s, ${before.size} sessions, a Service created and an old one deleted every 2 s`);
  const churn: string[] = [];
  const soakEnd = performance.now() + SOAK_S * 1000;
  let c = 0;
  while (performance.now() < soakEnd) {
    const name = `soak-${c++}`;
    await service(name, poolIp(k++));
    churn.push(name);
    if (churn.length > 10) await admin.core.deleteNamespacedService({ namespace: seed.namespace, name: churn.shift()! });
    await sleep(2000);
  }
  const afterSoak = await snap();
  const changed: Array<{ session: string; before: SessionInfo | undefined; after: SessionInfo | undefined }> = [];
  for (const key of new Set([...before.keys(), ...afterSoak.keys()])) {
    const a = before.get(key);
    const b = afterSoak.get(key);
    const same = a && b && b.state === 'established' && a.since === b.since && (a.drops ?? 0) === (b.drops ?? 0) &&
      (a.notificationsReceived ?? 0) === (b.notificationsReceived ?? 0) && (a.notificationsSent ?? 0) === (b.notificationsSent ?? 0) && a.lastError === b.lastError;
    if (!same) changed.push({ session: key, before: a, after: b });
  }
  result.soak = { seconds: SOAK_S, keepalive: 1, holdTime: 3, sessions: before.size, servicesChurned: c, sessionsChanged: changed };
  progress(`soak: ${changed.length} of ${before.size} sessions changed`);
} finally {
  await lab.teardown();
  await lab.seed.cp?.stop();
}
process.stdout.write(JSON.stringify(result) + '\n');
