// Failover timing as the client sees it: scripts/lab/client-probe.ts runs in the lab's client
// namespace and prints every ARP frame for the watched VIPs with its arrival time (the frames the
// client's kernel updates its neighbour entry from). Polling arping instead would add up to its
// wait (1 s) and the cost of starting a process to every figure.
import { type Child, tsxArgv } from '../kit/netns.ts';
import type { SeedLab } from './lab.ts';

/** The probe's time base (epoch ms): take t0 with this just before the fault. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ClientArpWatch {
  private constructor(
    private readonly lab: SeedLab,
    private readonly probe: Child,
  ) {}

  static async start(lab: SeedLab, ips: string[]): Promise<ClientArpWatch> {
    const probe = lab.client.spawn(tsxArgv('scripts/lab/client-probe.ts', ...ips.flatMap((ip) => ['--ip', ip])));
    await probe.waitForLine(/^ready/, 30_000);
    return new ClientArpWatch(lab, probe);
  }

  /**
   * Waits for the first ARP frame for `ip` sent at or after t0 (epochMs) by a lab node whose MAC is
   * not `fromMac`; returns that MAC and the ms from t0 to its arrival at the client.
   */
  async firstFromOther(ip: string, fromMac: string, t0: number, timeoutMs = 10_000): Promise<{ mac: string; ms: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (const line of this.probe.stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const f = JSON.parse(line) as { kind: string; t: number; ip?: string; mac?: string };
        if (f.kind === 'arp' && f.ip === ip && f.t >= t0 && f.mac && f.mac !== fromMac && this.lab.nodeByMac(f.mac)) return { mac: f.mac, ms: f.t - t0 };
      }
      if (this.probe.result) throw new Error(`client-probe exited: ${this.probe.stderr.slice(-2000)}`);
      if (performance.now() > deadline) throw new Error(`no ARP for ${ip} from a node other than ${fromMac} within ${timeoutMs} ms\n${this.lab.logs(20)}`);
      await sleep(20);
    }
  }

  /** Arrival times (epochMs) of the ARP frames for `ip` sent by `mac` that reached the client in [from, to). */
  framesFrom(ip: string, mac: string, from: number, to: number): number[] {
    const out: number[] = [];
    for (const line of this.probe.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const f = JSON.parse(line) as { kind: string; t: number; ip?: string; mac?: string };
      if (f.kind === 'arp' && f.ip === ip && f.mac === mac && f.t >= from && f.t < to) out.push(f.t);
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.probe.stop(2000);
  }
}
