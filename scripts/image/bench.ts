// Image facts for BENCHMARKS.md: size (unpacked, compressed, layers), time from container start
// to /readyz, and the speaker's memory inside the container. As root, on the lab topology:
//
//   npx tsx scripts/image/bench.ts [--runs 7] [--services 10]
//
// Start to /readyz: node 1's speaker is started again and again while the other two keep running
// (so every start joins a live cluster), alternating between the image (`podman run`, as the DaemonSet's
// pod: scripts/lab/image-runtime.ts) and the baseline, the same bundle run directly by the same
// node 20 in the same network namespace with a kubeconfig. The difference is what the container
// costs. /readyz is polled every 20 ms from inside the node's namespace.
// Memory: VmRSS/VmHWM of the container's PID 1 (from the host: /proc/<pid>/status, pid from
// `podman inspect`), and the container's cgroup usage (`podman stats`), after `--services` Services.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { METRICS_PORT, SeedLab, type LabNode } from '../lab/lab.ts';
import { exec, REPO_ROOT, run, tsxArgv, type Child } from '../kit/netns.ts';
import { containersConfEnv } from './podman.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 7);
const SERVICES = arg('services', 10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readyAfter(node: LabNode, t0: number, child: Child, timeoutMs = 30_000): Promise<number> {
  while (performance.now() - t0 < timeoutMs) {
    if (child.result) throw new Error(`speaker exited: ${child.stderr.slice(-1500)}`);
    const r = await node.netns.exec(['curl', '-s', '--max-time', '1', `http://127.0.0.1:${METRICS_PORT}/readyz`]);
    if (r.code === 0 && r.stdout.startsWith('ok')) return performance.now() - t0;
    await sleep(20);
  }
  throw new Error('not ready in time');
}

async function main(): Promise<void> {
  const lab = await SeedLab.create({ runtime: 'image', log: (l) => process.stderr.write(`${l}\n`) });
  // Inside the repository, so the bundle's `import 'koffi'` resolves from its node_modules.
  const bundleDir = mkdtempSync(join(REPO_ROOT, '.bench-bundle-'));
  try {
    await run(tsxArgv('scripts/build.ts', '--outdir', bundleDir), { timeoutMs: 120_000 });
    const info = JSON.parse(readFileSync(join(process.env.XDG_CACHE_HOME || join(process.env.HOME!, '.cache'), 'openelb-ts/image/image.json'), 'utf8')) as {
      ref: string; id: string; layers: number; unpackedBytes: number; compressedBytes: number;
    };
    await lab.createEip();
    await lab.startSpeakers();
    const n = lab.nodes[0]!;
    const image: number[] = [];
    const bundle: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await n.stopSpeaker();
      await sleep(1000);
      let t0 = performance.now();
      const c = await n.startSpeaker({ waitReady: false });
      image.push(await readyAfter(n, t0, c));
      await n.stopSpeaker();
      await sleep(1000);
      t0 = performance.now();
      const b = n.netns.spawn([process.execPath, join(bundleDir, 'openelb-ts.mjs'), 'speaker', '--node-name', n.name, '--kubeconfig', lab.cp.speakerKubeconfig,
        '--namespace', lab.speakerNamespace, '--metrics-addr', `:${METRICS_PORT}`], { env: { KUBECONFIG: '' } });
      bundle.push(await readyAfter(n, t0, b));
      await b.stop(5000);
    }
    await n.startSpeaker();
    for (let i = 0; i < SERVICES; i++) await lab.createService({ name: `bench-${i}`, pods: 2 });
    await sleep(5000);
    const mem: string[] = [];
    for (const node of lab.nodes) {
      const pid = (await run(['podman', 'inspect', '--format', '{{.State.Pid}}', node.container!], { env: containersConfEnv() })).trim();
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
      const stats = await exec(['podman', 'stats', '--no-stream', '--format', '{{.MemUsage}}', node.container!], { env: containersConfEnv() });
      mem.push(`${node.name}: VmRSS ${(kb('VmRSS') / 1024).toFixed(1)} MiB, VmHWM ${(kb('VmHWM') / 1024).toFixed(1)} MiB, cgroup ${stats.stdout.trim()}`);
    }
    const f = (xs: number[]) => `median ${Math.round(median(xs))} ms (min ${Math.round(Math.min(...xs))}, max ${Math.round(Math.max(...xs))})`;
    process.stdout.write(
      [
        `image ${info.ref} ${info.id.slice(0, 12)}: ${info.layers} layers, ${(info.unpackedBytes / 1e6).toFixed(1)} MB unpacked, ${(info.compressedBytes / 1e6).toFixed(1)} MB compressed (gzip)`,
        `start to /readyz, ${RUNS} runs each, joining 2 running speakers:`,
        `  image (podman run, the DaemonSet's pod): ${f(image)}`,
        `  bundle on the host (same node, same namespace): ${f(bundle)}`,
        `  container cost: ${Math.round(median(image) - median(bundle))} ms (ratio ${(median(image) / median(bundle)).toFixed(2)})`,
        `memory after ${SERVICES} Services + 5 s:`,
        ...mem.map((m) => `  ${m}`),
      ].join('\n') + '\n',
    );
  } finally {
    rmSync(bundleDir, { recursive: true, force: true });
    await lab.teardown();
    await lab.cp.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`image bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
