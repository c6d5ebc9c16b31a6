// Memory of the IPAM leader alone, for comparing runtime settings quickly (issue 12): one speaker
// with --enable-layer2=false (no namespaces, no root) against the control plane, one Eip, N
// Services created 16 at a time; per phase, once all are assigned and `--settle` seconds passed:
// VmRSS, RssAnon, RssFile, VmHWM and the heap from its /metrics. The whole lab with Layer 2 is
// scripts/bench/memory.ts; this one isolates the leader and takes any command line:
//
//   npx tsx scripts/bench/memory-leader.ts [--cmd "dist/openelb-ts.mjs"] [--steps 0,300,1000] [--settle 10]
//       --cmd "node --max-semi-space-size=1 dist/openelb-ts.mjs"      (other flags; `node` = this node)
//       --cmd "node_modules/@deno/linux-x64-glibc/deno run -A --quiet --v8-flags=... dist/openelb-ts.mjs"
//       --snap: a heap snapshot (--heapsnapshot-signal=SIGUSR2 in --cmd) after each phase (inflates RSS)
// Builds dist/ first. Uses OELB_KUBECONFIG / OELB_SPEAKER_KUBECONFIG when set, else starts a
// private control plane.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import process from 'node:process';
import { controlPlane, testNamespace, uniqueName } from '../kit/control-plane.ts';
import { admin, createEip, serviceBody, ipamHolder } from '../kit/ipam-helpers.ts';
import { inBatches } from '../lab/lab.ts';

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1]! : d; };
const steps = opt('steps', '0,300,1000').split(',').map(Number);
const cmd = opt('cmd', 'dist/openelb-ts.mjs').split(' ');
const settle = Number(opt('settle', '10'));
const env = { ...process.env, KUBECONFIG: '', ...JSON.parse(opt('env', '{}')) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = resolve(import.meta.dirname, '../..');
const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
if (built.status !== 0) throw new Error('build failed');

function rss(pid: number) {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const g = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0) / 1024;
  return { rss: +g('VmRSS').toFixed(1), anon: +g('RssAnon').toFixed(1), file: +g('RssFile').toFixed(1), hwm: +g('VmHWM').toFixed(1) };
}
const cp = await controlPlane();
const c = admin(cp);
const ns = await testNamespace(cp, 'memlead');
const eip = uniqueName('memlead');
await createEip(c, eip, { address: '10.210.0.0/20' });
const node = uniqueName('n');
const port = 19000 + Math.floor(Math.random() * 1000);
const [exe, ...pre] = cmd;
const p = spawn(exe === 'node' ? process.execPath : exe!, [...pre, 'speaker', '--enable-layer2=false', '--node-name', node, '--kubeconfig', cp.speakerKubeconfig, '--metrics-addr', `127.0.0.1:${port}`, '--health-addr', ''], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
let log = ''; p.stderr!.on('data', (d) => { log += d; if (log.length > 1e6) log = log.slice(-5e5); });
p.on('exit', (code) => { console.error('speaker exited', code, log.slice(-3000)); process.exit(1); });
const metric = async (name: string) => { const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(); return Number(new RegExp(`^${name}(?:\\{\\})? (\\S+)`, 'm').exec(t)?.[1] ?? NaN) / 1048576; };
for (let i = 0; ; i++) { if ((await ipamHolder(c)) === node) break; if (i > 200) throw new Error('no leader ' + log.slice(-2000)); await sleep(200); }
let have = 0; const out: unknown[] = [];
for (const n of steps) {
  const t0 = Date.now();
  if (n > have) {
    await inBatches(Array.from({ length: n - have }, (_, i) => have + i), 16, async (i) => { await c.core.createNamespacedService({ namespace: ns, body: serviceBody(ns, `s-${i}`, { noNodePorts: true, annotations: { 'eip.openelb.kubesphere.io/v1alpha2': eip } }) }); });
    have = n;
  }
  for (;;) {
    const l = await c.core.listNamespacedService({ namespace: ns });
    if (l.items.filter((s) => s.status?.loadBalancer?.ingress?.[0]?.ip).length >= n) break;
    await sleep(500);
  }
  const assignS = (Date.now() - t0) / 1000;
  await sleep(settle * 1000);
  if (argv.includes("--snap")) { p.kill("SIGUSR2"); await sleep(8000); }
  const r = { n, assignS, ...rss(p.pid!), heapUsed: +(await metric('nodejs_heap_size_used_bytes')).toFixed(1), heapTotal: +(await metric('nodejs_heap_size_total_bytes')).toFixed(1), ext: +(await metric('nodejs_external_memory_bytes')).toFixed(1) };
  out.push(r);
  console.error(JSON.stringify(r));
}
p.removeAllListeners('exit'); p.kill('SIGTERM'); await new Promise((r) => p.once('exit', r));
// (A namespace of a private control plane has no controller to empty it: it goes with the plane.)
await c.core.deleteNamespace({ name: ns }).catch(() => {});
await c.custom.deleteClusterCustomObject({ group: 'network.kubesphere.io', version: 'v1alpha2', plural: 'eips', name: eip }).catch(() => {});
console.log(JSON.stringify({ cmd: cmd.join(' '), phases: out }));
await cp.stop();
process.exit(0);
