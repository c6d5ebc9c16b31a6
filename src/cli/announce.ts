// `openelb-ts announce --interface IF --address IP [--address IP ...]`: the standalone responder.
// Answers ARP/NDP for the given addresses on one NIC with no Kubernetes at all (debugging, tests,
// demos). Same Announcer as the speaker: probe, takeover burst, refresh, conflict reports.
import process from 'node:process';
import type { Server } from 'node:http';
import { type FlagSpec, type FlagValues, UsageError, helpText, parseFlags } from './flags.ts';
import { isLevel, log, setLogLevel } from '../log.ts';
import { Announcer } from '../l2/announcer.ts';
import { canonicalIP } from '../net/ip.ts';
import { ETHERTYPE_ARP } from '../l2/ethernet.ts';
import { readInterface } from '../l2/interfaces.ts';
import { dropAllFilter } from '../../native-bindings/bpf.ts';
import { PacketSocket, PacketSocketError } from '../../native-bindings/packet-socket.ts';
import { listensEverywhere, serveObservability } from '../observe/http.ts';
import { registerUpstreamAliases } from '../observe/upstream-metrics.ts';
import { Registry } from '../observe/metrics.ts';
import { scheduleStartupPageDrop } from './startup-pages.ts';

const SUMMARY =
  'Answer ARP (IPv4) and NDP (IPv6) for the given addresses on one NIC, with no Kubernetes: probe each ' +
  'address first, announce it (gratuitous ARP / unsolicited NA) and keep answering until SIGTERM/SIGINT. ' +
  'Needs CAP_NET_RAW (root).';

export const announceFlags: FlagSpec[] = [
  { name: 'interface', env: 'OPENELB_INTERFACE', kind: 'string', help: 'NIC to answer on, e.g. eth0 (required)' },
  { name: 'address', env: 'OPENELB_ADDRESSES', kind: 'list', help: 'IPv4 or IPv6 address to answer for; repeat the flag or separate with commas (required)' },
  { name: 'metrics-addr', env: 'OPENELB_METRICS_ADDR', kind: 'string', default: '', help: 'listen address of /metrics, /healthz, /readyz, e.g. 127.0.0.1:7472; ":7472" is every interface, the LAN included (empty = off)' },
  { name: 'log-level', env: 'OPENELB_LOG_LEVEL', kind: 'string', default: 'info', help: 'debug, info, warn or error' },
  { name: 'no-probe', env: 'OPENELB_NO_PROBE', kind: 'boolean', default: false, help: 'announce at once, without first probing whether another host has the address' },
  { name: 'probe-ms', env: 'OPENELB_PROBE_MS', kind: 'number', default: 200, help: 'how long to wait for an answer to the ARP probe / DAD solicitation' },
  { name: 'reprobe-ms', env: 'OPENELB_REPROBE_MS', kind: 'number', default: 15000, help: 'after a conflict, probe again this often (a freed address is then taken)' },
  { name: 'burst-count', env: 'OPENELB_BURST_COUNT', kind: 'number', default: 5, help: 'announcements in the takeover burst (the first at once)' },
  { name: 'burst-interval-ms', env: 'OPENELB_BURST_INTERVAL_MS', kind: 'number', default: 1100, help: 'time between burst announcements' },
  { name: 'refresh-ms', env: 'OPENELB_REFRESH_MS', kind: 'number', default: 30000, help: 're-announce every so often while answering (0 = off)' },
  { name: 'help', kind: 'boolean', default: false, help: 'print this help' },
];

export interface AnnounceConfig {
  nic: string;
  addresses: string[];
  metricsAddr: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  probe: boolean;
  probeMs: number;
  reprobeMs: number;
  burstCount: number;
  burstIntervalMs: number;
  refreshMs: number;
}

function nonNegative(v: FlagValues, name: string, min = 0): number {
  const n = v[name] as number;
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name}: must be a number >= ${min}, got ${n}`);
  return n;
}

/** Flags -> config, or a UsageError naming the flag and the fix. Pure. */
export function announceConfig(v: FlagValues): AnnounceConfig {
  const nic = (v['interface'] as string | undefined) ?? '';
  if (!nic) throw new UsageError('--interface is required: the NIC to answer on, e.g. --interface eth0 (see `ip link`)');
  const raw = (v['address'] as string[] | undefined) ?? [];
  if (raw.length === 0) throw new UsageError('--address is required: an IPv4 or IPv6 address to answer for, e.g. --address 192.168.1.240');
  const addresses: string[] = [];
  for (const a of raw) {
    const ip = canonicalIP(a.trim());
    if (!ip) throw new UsageError(`--address "${a}" is not an IPv4 or IPv6 address (no prefix length, no zone id), e.g. 192.168.1.240 or 2001:db8::10`);
    if (!addresses.includes(ip)) addresses.push(ip);
  }
  const logLevel = v['log-level'] as string;
  if (!isLevel(logLevel)) throw new UsageError(`--log-level: "${logLevel}" is not one of debug, info, warn, error`);
  return {
    nic,
    addresses,
    metricsAddr: (v['metrics-addr'] as string | undefined) ?? '',
    logLevel,
    probe: !(v['no-probe'] as boolean),
    probeMs: nonNegative(v, 'probe-ms'),
    reprobeMs: nonNegative(v, 'reprobe-ms', 100),
    burstCount: nonNegative(v, 'burst-count', 1),
    burstIntervalMs: nonNegative(v, 'burst-interval-ms', 10),
    refreshMs: nonNegative(v, 'refresh-ms'),
  };
}

/** Why announcing on `nic` cannot work, or null: the NIC must exist, be Ethernet, and take a raw socket. */
function preflight(nic: string): string | null {
  const info = readInterface(nic);
  if (!info) return `network interface "${nic}" not found (check the name with \`ip link\`)`;
  if (info.type !== 1) return `network interface "${nic}" is not an Ethernet NIC (ARP/NDP answers need a MAC address)`;
  try {
    PacketSocket.open({ ifname: nic, ethertype: ETHERTYPE_ARP, filter: dropAllFilter() }).close();
  } catch (err) {
    if (err instanceof PacketSocketError) return err.message;
    throw err;
  }
  return null;
}

export async function run(argv: string[]): Promise<number> {
  const { values, rest } = parseFlags(announceFlags, argv);
  if (values['help']) {
    process.stdout.write(helpText('announce', SUMMARY, announceFlags) + '\n');
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" (addresses go after --address)`);
  const cfg = announceConfig(values);
  setLogLevel(cfg.logLevel);

  // Fail fast with one line for what a user must fix (missing NIC, no CAP_NET_RAW), before any log
  // line: the Announcer itself would keep retrying, which suits the speaker, not a command line.
  const problem = preflight(cfg.nic);
  if (problem) {
    process.stderr.write(`openelb-ts announce: ${problem}\n`);
    return 1;
  }

  // Listen for the stop signals before anything is announced, so a SIGTERM that arrives during
  // start-up still closes the sockets and exits 0.
  const stop = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const registry = new Registry();
  registerUpstreamAliases(registry);
  const announcer = new Announcer({
    registry,
    probeMs: cfg.probe ? cfg.probeMs : 0,
    reprobeMs: cfg.reprobeMs,
    burstCount: cfg.burstCount,
    burstIntervalMs: cfg.burstIntervalMs,
    refreshMs: cfg.refreshMs,
    onConflict: (c) =>
      c.phase === 'probe'
        ? log.warn('address is in use by another host: not announcing it (probing again later)', { ip: c.ip, nic: c.nic, otherMac: c.mac })
        : undefined,
  });
  announcer.update(new Map(cfg.addresses.map((ip) => [ip, { nic: cfg.nic, probe: cfg.probe }])));

  // A missing NIC or privilege shows up at once as state 'error' (sockets open synchronously):
  // the standalone command fails fast with that one line instead of retrying forever.
  const failed = [...announcer.states().values()].find((s) => s.state === 'error');
  if (failed) {
    await announcer.close();
    process.stderr.write(`openelb-ts announce: ${failed.error ?? 'cannot answer on ' + cfg.nic}\n`);
    return 1;
  }

  let server: Server | undefined;
  if (cfg.metricsAddr) {
    try {
      if (listensEverywhere(cfg.metricsAddr)) {
        log.warn(`--metrics-addr ${cfg.metricsAddr} listens on every interface: anyone on the network can read the addresses and conflicting MACs; prefer 127.0.0.1`, { addr: cfg.metricsAddr });
      }
      server = await serveObservability(cfg.metricsAddr, registry, {
        healthy: () => ({ ok: true, detail: 'announcer running' }),
        ready: () => {
          const s = [...announcer.states().values()];
          const bad = s.filter((x) => x.state === 'error').length;
          return { ok: bad === 0, detail: `${s.filter((x) => x.state === 'announcing').length}/${s.length} addresses announcing, ${bad} in error` };
        },
      });
    } catch (err) {
      await announcer.close();
      process.stderr.write(`openelb-ts announce: cannot listen on --metrics-addr ${cfg.metricsAddr}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  log.info('announce started', { nic: cfg.nic, addresses: cfg.addresses.length, probe: cfg.probe, metricsAddr: cfg.metricsAddr || undefined });
  scheduleStartupPageDrop();

  const signal = await stop;
  await announcer.close();
  if (server) {
    server.closeAllConnections?.();
    await new Promise<void>((r) => server.close(() => r()));
  }
  log.info('announce stopped', { signal });
  // Everything that kept the process alive is closed; this is only a backstop so the exit stays
  // within a second even if a runtime keeps a handle around (e.g. a pending async poll).
  const backstop = setTimeout(() => process.exit(0), 700);
  (backstop as unknown as { unref?: () => void }).unref?.();
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (deno?.unrefTimer && typeof backstop === 'number') deno.unrefTimer(backstop);
  return 0;
}
