// `openelb-ts speaker`: the DaemonSet daemon. Every speaker is a candidate for the IPAM Lease
// (one writer assigns Service IPs) and, with Layer 2 enabled, keeps a membership Lease and answers
// ARP/NDP for the external IPs the per-IP election gives this node.
import { type FlagSpec, type FlagValues, UsageError, helpText, ignoredFlagsWarning, parseFlags } from './flags.ts';
import { upstreamSpeakerFlags } from './upstream-speaker-flags.ts';
import { KubeClient, describeSource } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { DEFAULT_BEACON_KEY_SECRET } from '../kube/beacon-key.ts';
import { electionTimingProblems } from '../kube/lease-election.ts';
import { membershipTimingProblems } from '../kube/membership.ts';
import { log, setLogLevel } from '../log.ts';
import type { Server } from 'node:http';
import { listensEverywhere, serveObservability } from '../observe/http.ts';
import { Registry } from '../observe/metrics.ts';
import { registerProcessMemory } from '../observe/process-memory.ts';
import { registerProcessMetrics } from '../observe/process-metrics.ts';
import { registerUpstreamAliases } from '../observe/upstream-metrics.ts';
import type { Controller, SpeakerContext } from '../speaker/context.ts';
import { SharedInformers } from '../speaker/informers.ts';
import { BgpController } from '../speaker/bgp-controller.ts';
import { IpamController } from '../speaker/ipam-controller.ts';
import { Layer2Controller } from '../speaker/layer2-controller.ts';
import { scheduleStartupPageDrop } from './startup-pages.ts';

const SUMMARY =
  'Run the openelb-ts speaker: IPAM (while holding the openelb-ipam Lease) and, with --enable-layer2, ARP/NDP answers for the external IPs this node is elected for.';

// The daemon's timings. Liveness comes from segment beacons (sub-second crash failover, no API
// writes); the Leases only say who exists, so they renew at kubelet cadence: a membership Lease
// every 10 s (0.1 writes/s per node) and the IPAM Lease client-go-like (0.25 writes/s for the
// cluster; an IPAM failover only delays new assignments). BENCHMARKS.md has the measured figures.
export const SPEAKER_TIMINGS = {
  ipam: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 4_000 },
  membership: { leaseDurationMs: 40_000, retryPeriodMs: 10_000 },
  beacons: { intervalMs: 100, deadlineMs: 500 },
} as const;

export const speakerFlags: FlagSpec[] = [
  { name: 'kubeconfig', env: 'KUBECONFIG', kind: 'string', help: 'kubeconfig file; empty = in-cluster ServiceAccount, then ~/.kube/config' },
  { name: 'node-name', env: 'NODE_NAME', kind: 'string', help: 'this node\'s name (the DaemonSet sets it from spec.nodeName)' },
  { name: 'namespace', env: 'OPENELB_NAMESPACE', kind: 'string', default: 'openelb-system', help: 'namespace of the speakers\' Leases' },
  { name: 'enable-layer2', env: 'OPENELB_ENABLE_LAYER2', kind: 'boolean', default: true, help: 'answer ARP/NDP for elected IPs (false: IPAM only, no raw sockets needed)' },
  { name: 'enable-bgp', env: 'OPENELB_ENABLE_BGP', kind: 'boolean', default: true, help: 'announce Services of bgp Eips to the BgpPeers (BgpConf default); dormant until a BgpConf, BgpPeer or bgp Eip exists' },
  { name: 'enable-ipam', env: 'OPENELB_ENABLE_IPAM', kind: 'boolean', default: true, help: 'stand for the IPAM Lease (the elected speaker assigns Service IPs)' },
  { name: 'metrics-addr', env: 'OPENELB_METRICS_ADDR', kind: 'string', default: '127.0.0.1:7472', help: 'listen address of /metrics (and /healthz, /readyz); loopback by default. For Prometheus use the node\'s IP (the DaemonSet: $(HOST_IP):7472); ":7472" is every interface, the LAN included (empty = off)' },
  { name: 'health-addr', env: 'OPENELB_HEALTH_ADDR', kind: 'string', default: '127.0.0.1:7474', help: 'listen address of /healthz and /readyz only, for the kubelet\'s probes (empty = off)' },
  { name: 'log-level', env: 'OPENELB_LOG_LEVEL', kind: 'string', default: 'info', help: 'debug, info, warn or error' },
  { name: 'ipam-lease-duration-ms', env: 'OPENELB_IPAM_LEASE_DURATION_MS', kind: 'number', default: SPEAKER_TIMINGS.ipam.leaseDurationMs, help: 'IPAM Lease: how long a silent leader keeps it' },
  { name: 'ipam-renew-deadline-ms', env: 'OPENELB_IPAM_RENEW_DEADLINE_MS', kind: 'number', default: SPEAKER_TIMINGS.ipam.renewDeadlineMs, help: 'IPAM Lease: leader steps down after failing to renew this long' },
  { name: 'ipam-retry-period-ms', env: 'OPENELB_IPAM_RETRY_PERIOD_MS', kind: 'number', default: SPEAKER_TIMINGS.ipam.retryPeriodMs, help: 'IPAM Lease: period of renewals (one write each) and candidate polls' },
  { name: 'member-lease-duration-ms', env: 'OPENELB_MEMBER_LEASE_DURATION_MS', kind: 'number', default: SPEAKER_TIMINGS.membership.leaseDurationMs, help: 'membership Lease: a speaker not renewing for this long leaves the roster (crash failover time where beacons are not heard)' },
  { name: 'member-retry-period-ms', env: 'OPENELB_MEMBER_RETRY_PERIOD_MS', kind: 'number', default: SPEAKER_TIMINGS.membership.retryPeriodMs, help: 'membership Lease: renewal period, one write each (at most half the duration)' },
  { name: 'enable-beacons', env: 'OPENELB_ENABLE_BEACONS', kind: 'boolean', default: true, help: 'judge peers alive by authenticated segment beacons (ethertype 0x88B5) on each announcing NIC; false: by membership Leases alone' },
  { name: 'beacon-interval-ms', env: 'OPENELB_BEACON_INTERVAL_MS', kind: 'number', default: SPEAKER_TIMINGS.beacons.intervalMs, help: 'segment beacons: one per NIC every this many ms' },
  { name: 'beacon-deadline-ms', env: 'OPENELB_BEACON_DEADLINE_MS', kind: 'number', default: SPEAKER_TIMINGS.beacons.deadlineMs, help: 'segment beacons: a peer not heard for this long is dead on that segment (crash failover time)' },
  { name: 'beacon-key-secret', env: 'OPENELB_BEACON_KEY_SECRET', kind: 'string', default: DEFAULT_BEACON_KEY_SECRET, help: 'Secret in the speakers\' namespace holding the beacon key (data key `current`; `next`/`previous` during rotation); created with a random key if missing' },
];

export interface SpeakerConfig {
  kubeconfig: string | undefined;
  nodeName: string;
  namespace: string;
  enableLayer2: boolean;
  enableBgp: boolean;
  enableIpam: boolean;
  metricsAddr: string;
  healthAddr: string;
  logLevel: string;
  ipam: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  membership: { leaseDurationMs: number; retryPeriodMs: number };
  beacons: { enabled: boolean; intervalMs: number; deadlineMs: number; keySecret: string };
}

/** Why beacon timings are unusable (empty: fine). Pure. */
export function beaconTimingProblems(b: { intervalMs: number; deadlineMs: number }, leaseDurationMs: number): string[] {
  const p: string[] = [];
  if (!(Number.isInteger(b.intervalMs) && b.intervalMs >= 10 && b.intervalMs <= 60_000)) p.push(`beacon interval ${b.intervalMs} ms must be a whole number of ms from 10 to 60000`);
  else if (!(Number.isFinite(b.deadlineMs) && b.deadlineMs >= 3 * b.intervalMs)) p.push(`beacon deadline (${b.deadlineMs} ms) must be at least 3 beacon intervals (${3 * b.intervalMs} ms), or one lost beacon kills a peer`);
  else if (b.deadlineMs >= leaseDurationMs) p.push(`beacon deadline (${b.deadlineMs} ms) must be below the membership Lease duration (${leaseDurationMs} ms)`);
  return p;
}

/** Flags -> config, or a UsageError that says which flag is wrong and what would be right. Pure. */
export function speakerConfig(v: FlagValues): SpeakerConfig {
  const nodeName = (v['node-name'] as string | undefined) ?? '';
  if (!nodeName) throw new UsageError('--node-name (env NODE_NAME) is required: set it to this node\'s Kubernetes name');
  const logLevel = v['log-level'] as string;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new UsageError(`--log-level: "${logLevel}" is not one of debug, info, warn, error`);
  }
  const ipam = {
    leaseDurationMs: v['ipam-lease-duration-ms'] as number,
    renewDeadlineMs: v['ipam-renew-deadline-ms'] as number,
    retryPeriodMs: v['ipam-retry-period-ms'] as number,
  };
  const membership = {
    leaseDurationMs: v['member-lease-duration-ms'] as number,
    retryPeriodMs: v['member-retry-period-ms'] as number,
  };
  const beacons = {
    enabled: v['enable-beacons'] as boolean,
    intervalMs: v['beacon-interval-ms'] as number,
    deadlineMs: v['beacon-deadline-ms'] as number,
    keySecret: (v['beacon-key-secret'] as string | undefined) || DEFAULT_BEACON_KEY_SECRET,
  };
  const problems = [
    ...electionTimingProblems(ipam).map((p) => `IPAM ${p} (--ipam-*-ms flags)`),
    ...membershipTimingProblems(membership).map((p) => `membership ${p} (--member-*-ms flags)`),
    ...(beacons.enabled ? beaconTimingProblems(beacons, membership.leaseDurationMs).map((p) => `${p} (--beacon-*-ms flags)`) : []),
  ];
  if (problems.length) throw new UsageError(problems.join('; '));
  return {
    kubeconfig: (v.kubeconfig as string | undefined) || undefined,
    nodeName,
    namespace: v.namespace as string,
    enableLayer2: v['enable-layer2'] as boolean,
    enableBgp: v['enable-bgp'] as boolean,
    enableIpam: v['enable-ipam'] as boolean,
    metricsAddr: (v['metrics-addr'] as string | undefined) ?? '',
    healthAddr: (v['health-addr'] as string | undefined) ?? '',
    logLevel,
    ipam,
    membership,
    beacons,
  };
}

// A graceful stop must finish well inside the kubelet's grace period and, for failover, fast:
// peers take over as soon as our membership Lease is released.
const STOP_DEADLINE_MS = 900;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText('speaker', SUMMARY, [...speakerFlags, ...upstreamSpeakerFlags]) + '\n');
    return 0;
  }
  const { values, rest, given } = parseFlags([...speakerFlags, ...upstreamSpeakerFlags], argv);
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}" (flags start with --)`);
  const cfg = speakerConfig(values);
  setLogLevel(cfg.logLevel as 'info');
  const ignored = ignoredFlagsWarning(upstreamSpeakerFlags, given);
  if (ignored) log.warn(ignored);

  const { client, source } = KubeClient.load(cfg.kubeconfig);
  log.info('speaker starting', {
    node: cfg.nodeName,
    namespace: cfg.namespace,
    apiServer: client.server,
    credentials: describeSource(source),
    layer2: cfg.enableLayer2,
    bgp: cfg.enableBgp,
    ipam: cfg.enableIpam,
  });

  const registry = new Registry();
  registerProcessMetrics(registry);
  registerProcessMemory(registry);
  registerUpstreamAliases(registry);
  const ctx: SpeakerContext = {
    client,
    namespace: cfg.namespace,
    nodeName: cfg.nodeName,
    registry,
    events: new EventRecorder({ client, instance: cfg.nodeName }),
    informers: new SharedInformers(client, cfg.nodeName),
  };
  const controllers: Controller[] = [];
  const ipam = cfg.enableIpam ? new IpamController(ctx, cfg.ipam) : undefined;
  // BGP and Layer 2 first in the list: they are stopped first, so routers withdraw our routes and
  // peers take over our IPs before anything else.
  if (cfg.enableBgp) controllers.push(new BgpController(ctx, {
    // The speaker's module is loaded only when BGP is configured (see bgp-controller.ts).
    makeSpeaker: async (o) => new (await import('../bgp/speaker.ts')).BgpSpeaker(o),
    // One writer of the BgpConf/BgpPeer Ready conditions, as for Eips: the IPAM leader.
    conditionWriter: () => ipam?.isLeader() ?? false,
  }));
  if (cfg.enableLayer2) controllers.push(new Layer2Controller(ctx, {
    membershipLeaseDurationMs: cfg.membership.leaseDurationMs,
    membershipRetryPeriodMs: cfg.membership.retryPeriodMs,
    beacons: cfg.beacons,
  }));
  if (ipam) controllers.push(ipam);

  const startedAt = Date.now();
  const checks = {
    healthy: () => ({ ok: true, detail: `up ${Math.round((Date.now() - startedAt) / 1000)} s` }),
    ready: () => {
      const unsynced = ctx.informers.unsynced();
      if (unsynced.length) return { ok: false, detail: `caches not synced: ${unsynced.join(', ')}` };
      const notReady = controllers.map((c) => c.ready()).filter((r) => !r.ok);
      return notReady.length
        ? { ok: false, detail: notReady.map((r) => r.detail).join('; ') }
        : { ok: true, detail: 'caches synced' };
    },
  };
  // Two listeners: the kubelet probes a fixed loopback address, whatever an operator does to the
  // metrics address (moving /metrics to the node IP for Prometheus must not break the probes).
  const servers: Server[] = [];
  for (const [flag, addr, withMetrics] of [['--metrics-addr', cfg.metricsAddr, true], ['--health-addr', cfg.healthAddr, false]] as const) {
    if (!addr || (!withMetrics && addr === cfg.metricsAddr)) continue;
    if (listensEverywhere(addr)) {
      log.warn(`${flag} ${addr} listens on every interface of the node (hostNetwork): anyone on its networks can read it; prefer 127.0.0.1 or the node's IP`, { addr });
    }
    try {
      servers.push(await serveObservability(addr, withMetrics ? registry : undefined, checks));
    } catch (err) {
      for (const open of servers) open.close();
      throw new UsageError(`cannot listen on ${flag} ${addr}: ${err instanceof Error ? err.message : String(err)}; choose another address or port, or set it empty to turn it off`);
    }
  }

  for (const c of controllers) await c.start();
  log.info('speaker running', { node: cfg.nodeName, metricsAddr: cfg.metricsAddr || 'off', healthAddr: cfg.healthAddr || 'off' });
  scheduleStartupPageDrop();

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('speaker stopping', { signal });
  const stopped = (async () => {
    for (const c of controllers) await c.stop();
    await ctx.informers.stop();
    for (const s of servers) s.close();
  })();
  const timedOut = await Promise.race([
    stopped.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), STOP_DEADLINE_MS).unref()),
  ]);
  if (timedOut) log.warn('speaker: graceful stop took too long; exiting anyway', { deadlineMs: STOP_DEADLINE_MS });
  else log.info('speaker stopped', { signal });
  // Pending watches and keep-alive sockets would hold the event loop open.
  setTimeout(() => process.exit(0), 10).unref();
  return 0;
}
