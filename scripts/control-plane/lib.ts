// A loopback Kubernetes control plane for tests and development: etcd and
// kube-apiserver built from Go modules (build.sh), TLS everywhere the API
// server talks to clients, RBAC on, deploy/ applied, and two kubeconfigs: an
// admin one and one for the speaker's ServiceAccount. There is no
// kube-controller-manager, scheduler or kubelet: namespaces never finish
// deleting, and EndpointSlices exist only when a test writes them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '..', '..');
// Dual-stack, so IPv6 and dual-stack LoadBalancer Services can be created (ipFamilies).
export const SERVICE_CIDR = '10.96.0.0/16,fd00:10:96::/112';
export const SPEAKER_NAMESPACE = 'openelb-system';
export const SPEAKER_SERVICE_ACCOUNT = 'openelb-speaker';

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), '.cache');
  return join(base, 'openelb-ts');
}

/** Where `npm run control-plane -- up` keeps its state unless told otherwise. */
export function defaultStateDir(): string {
  return join(cacheRoot(), 'run', 'default');
}

/** What a running control plane recorded about itself (state.json). */
export interface ControlPlaneState {
  stateDir: string;
  binDir: string;
  etcd: { pid: number; clientPort: number; peerPort: number };
  apiserver: { pid: number; port: number };
  server: string;
  kubeconfig: string;
  speakerKubeconfig: string;
  startedAt: string;
  readyMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Logger = (msg: string) => void;
const stderrLog: Logger = (m) => process.stderr.write(`control-plane: ${m}\n`);

/**
 * Builds (or reuses) the binaries; returns their directory. Throws on failure.
 * OELB_CONTROL_PLANE=min selects the oldest supported Kubernetes minor (build-min.sh).
 */
export function ensureBinaries(logFn: Logger = stderrLog): string {
  const script = process.env.OELB_CONTROL_PLANE === 'min' ? 'build-min.sh' : 'build.sh';
  const r = spawnSync('bash', [join(HERE, script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`scripts/control-plane/${script} failed (exit ${r.status ?? r.signal})`);
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  if (!dir || !existsSync(join(dir, 'kube-apiserver'))) throw new Error(`build.sh printed no binary dir: ${r.stdout}`);
  logFn(`binaries in ${dir}`);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

/** True when pid runs and its command line mentions stateDir (guards against reused PIDs). */
export function ownsProcess(pid: number, stateDir: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie (state Z) has exited; only its parent has not reaped it yet.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return cmd.includes(stateDir) && state !== 'Z';
  } catch {
    return false;
  }
}

export function readState(stateDir: string): ControlPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

function startDetached(bin: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  // detached: own process group, so the control plane outlives `npm run ... up`
  // and a Ctrl-C in the caller's terminal does not reach it.
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  return child;
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function getReadyz(port: number, tls: Tls): Promise<number> {
  return new Promise((res) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/readyz', method: 'GET', ...tls, timeout: 2000, servername: 'localhost' },
      (resp) => {
        resp.resume();
        resp.on('end', () => res(resp.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(0));
    req.end();
  });
}

export async function isReady(state: ControlPlaneState): Promise<boolean> {
  const pki = join(state.stateDir, 'pki');
  try {
    const tls = {
      ca: readFileSync(join(pki, 'ca.crt')),
      cert: readFileSync(join(pki, 'admin.crt')),
      key: readFileSync(join(pki, 'admin.key')),
    };
    return (await getReadyz(state.apiserver.port, tls)) === 200;
  } catch {
    return false;
  }
}

function kubeconfigYaml(opts: { server: string; caData: string; user: string; auth: Record<string, string> }): string {
  const auth = Object.entries(opts.auth)
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: openelb-ts
  cluster:
    server: ${opts.server}
    certificate-authority-data: ${opts.caData}
users:
- name: ${opts.user}
  user:
${auth}
contexts:
- name: ${opts.user}@openelb-ts
  context:
    cluster: openelb-ts
    user: ${opts.user}
current-context: ${opts.user}@openelb-ts
`;
}

/** Runs the built kubectl against a kubeconfig (never the caller's $KUBECONFIG). */
export function runKubectl(
  binDir: string,
  kubeconfig: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((res, rej) => {
    const child = spawn(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, KUBECONFIG: kubeconfig },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface UpOptions {
  stateDir?: string;
  log?: Logger;
  /** Give up waiting for /readyz after this long (default 90 s: a cold machine is slow). */
  readyTimeoutMs?: number;
}

/**
 * Starts etcd and kube-apiserver (or returns the one already running in
 * stateDir), applies deploy/openelb.yaml and writes the kubeconfigs.
 */
export async function up(opts: UpOptions = {}): Promise<ControlPlaneState> {
  const stateDir = resolve(opts.stateDir ?? defaultStateDir());
  const logFn = opts.log ?? stderrLog;
  const existing = readState(stateDir);
  if (existing) {
    const alive = ownsProcess(existing.etcd.pid, stateDir) && ownsProcess(existing.apiserver.pid, stateDir);
    if (alive && (await isReady(existing))) {
      // Re-apply deploy/ (it may have been edited) and mint a fresh speaker
      // token (the old one expires after 24 h): cheap, and `up` stays idempotent.
      logFn(`already running in ${stateDir}`);
      await applyDeploy(existing, logFn);
      await writeSpeakerKubeconfig(existing, readFileSync(join(stateDir, 'pki', 'ca.crt')));
      return existing;
    }
    logFn(`stale state in ${stateDir}: cleaning up`);
    await down({ stateDir, log: logFn });
  }
  const binDir = ensureBinaries(logFn);
  let lastErr: unknown;
  // Ports are picked free and then bound by another process: a rare race with
  // other processes on the machine, so retry with fresh ports.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(stateDir, binDir, logFn, opts.readyTimeoutMs ?? 90_000);
    } catch (e) {
      lastErr = e;
      logFn(`attempt ${attempt} failed: ${(e as Error).message}`);
      await down({ stateDir, log: () => {} });
    }
  }
  throw lastErr;
}

async function startOnce(stateDir: string, binDir: string, logFn: Logger, readyTimeoutMs: number): Promise<ControlPlaneState> {
  const t0 = Date.now();
  const pki = join(stateDir, 'pki');
  mkdirSync(stateDir, { recursive: true });
  const pkiRun = spawnSync(join(binDir, 'pki'), ['--dir', pki], { encoding: 'utf8' });
  if (pkiRun.status !== 0) throw new Error(`pki failed: ${pkiRun.stderr}`);

  const [clientPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdLog = join(stateDir, 'etcd.log');
  const apiLog = join(stateDir, 'kube-apiserver.log');
  const etcd = startDetached(
    join(binDir, 'etcd'),
    [
      `--data-dir=${join(stateDir, 'etcd-data')}`,
      `--listen-client-url=http://127.0.0.1:${clientPort}`,
      `--listen-peer-url=http://127.0.0.1:${peerPort}`,
    ],
    etcdLog,
  );
  const apiserver = startDetached(
    join(binDir, 'kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${clientPort}`,
      `--bind-address=127.0.0.1`,
      `--advertise-address=127.0.0.1`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(stateDir, 'apiserver-certs')}`,
      `--client-ca-file=${join(pki, 'ca.crt')}`,
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--authorization-mode=Node,RBAC`,
      `--allow-privileged=true`,
      // Fewer moving parts and faster start on a shared 2-core machine.
      `--enable-priority-and-fairness=false`,
      `--profiling=false`,
      `--v=0`,
    ],
    apiLog,
  );
  const state: ControlPlaneState = {
    stateDir,
    binDir,
    etcd: { pid: etcd.pid ?? -1, clientPort, peerPort },
    apiserver: { pid: apiserver.pid ?? -1, port: apiPort },
    server: `https://127.0.0.1:${apiPort}`,
    kubeconfig: join(stateDir, 'admin.kubeconfig'),
    speakerKubeconfig: join(stateDir, 'speaker.kubeconfig'),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state, null, 2));

  const ca = readFileSync(join(pki, 'ca.crt'));
  const cert = readFileSync(join(pki, 'admin.crt'));
  const key = readFileSync(join(pki, 'admin.key'));
  writeFileSync(
    state.kubeconfig,
    kubeconfigYaml({
      server: state.server,
      caData: ca.toString('base64'),
      user: 'admin',
      auth: { 'client-certificate-data': cert.toString('base64'), 'client-key-data': key.toString('base64') },
    }),
    { mode: 0o600 },
  );

  // Wait for /readyz, failing fast if either process dies.
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!ownsProcess(state.etcd.pid, stateDir)) throw new Error(`etcd exited:\n${tail(etcdLog)}`);
    if (!ownsProcess(state.apiserver.pid, stateDir)) throw new Error(`kube-apiserver exited:\n${tail(apiLog)}`);
    if ((await getReadyz(apiPort, { ca, cert, key })) === 200) break;
    if (Date.now() > deadline) throw new Error(`kube-apiserver not ready after ${readyTimeoutMs} ms:\n${tail(apiLog)}`);
    await sleep(150);
  }
  state.readyMs = Date.now() - t0;
  logFn(`kube-apiserver ready at ${state.server} in ${state.readyMs} ms`);

  await applyDeploy(state, logFn);
  await writeSpeakerKubeconfig(state, ca);
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state, null, 2));
  logFn(`up in ${Date.now() - t0} ms (state ${stateDir})`);
  return state;
}

async function applyDeploy(state: ControlPlaneState, logFn: Logger): Promise<void> {
  const bundle = join(REPO_ROOT, 'deploy', 'openelb.yaml');
  // kube-system and friends are created by the API server right after it turns
  // ready; retry briefly instead of racing that.
  let last: KubectlResult | undefined;
  for (let i = 0; i < 40; i++) {
    last = await runKubectl(state.binDir, state.kubeconfig, ['apply', '-f', bundle]);
    if (last.code === 0) break;
    await sleep(250);
  }
  if (!last || last.code !== 0) throw new Error(`kubectl apply -f deploy/openelb.yaml failed:\n${last?.stderr}`);
  const wait = await runKubectl(state.binDir, state.kubeconfig, [
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd/eips.network.kubesphere.io',
    'crd/bgpconfs.network.kubesphere.io',
    'crd/bgppeers.network.kubesphere.io',
  ]);
  if (wait.code !== 0) throw new Error(`CRDs not established: ${wait.stderr}`);
  logFn('applied deploy/openelb.yaml');
}

async function writeSpeakerKubeconfig(state: ControlPlaneState, ca: Buffer): Promise<void> {
  const r = await runKubectl(state.binDir, state.kubeconfig, [
    'create',
    'token',
    SPEAKER_SERVICE_ACCOUNT,
    '-n',
    SPEAKER_NAMESPACE,
    '--duration=24h',
  ]);
  if (r.code !== 0) throw new Error(`TokenRequest for ${SPEAKER_NAMESPACE}/${SPEAKER_SERVICE_ACCOUNT} failed: ${r.stderr}`);
  writeFileSync(
    state.speakerKubeconfig,
    kubeconfigYaml({
      server: state.server,
      caData: ca.toString('base64'),
      user: SPEAKER_SERVICE_ACCOUNT,
      auth: { token: r.stdout.trim() },
    }),
    { mode: 0o600 },
  );
}

/** Signals the recorded processes synchronously (safe inside process 'exit' handlers). */
export function killNow(stateDir: string, signal: NodeJS.Signals = 'SIGKILL'): void {
  const st = readState(stateDir);
  if (!st) return;
  for (const pid of [st.apiserver.pid, st.etcd.pid]) {
    if (pid > 0 && ownsProcess(pid, stateDir)) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/** Stops the processes recorded in stateDir and removes the state. */
export async function down(opts: { stateDir?: string; log?: Logger } = {}): Promise<void> {
  const stateDir = resolve(opts.stateDir ?? defaultStateDir());
  const logFn = opts.log ?? stderrLog;
  const st = readState(stateDir);
  if (st) {
    // API server first so it does not log a storm of etcd errors.
    for (const pid of [st.apiserver.pid, st.etcd.pid]) {
      if (!(pid > 0) || !ownsProcess(pid, stateDir)) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        continue;
      }
      const deadline = Date.now() + 10_000;
      while (ownsProcess(pid, stateDir) && Date.now() < deadline) await sleep(50);
      if (ownsProcess(pid, stateDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      logFn(`stopped pid ${pid}`);
    }
  }
  // Only ever remove a directory that looks like ours.
  if (existsSync(join(stateDir, 'state.json')) || existsSync(join(stateDir, 'pki'))) {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export interface Status {
  stateDir: string;
  running: boolean;
  ready: boolean;
  etcd?: { pid: number; alive: boolean; rssKiB?: number };
  apiserver?: { pid: number; alive: boolean; rssKiB?: number };
  server?: string;
  kubeconfig?: string;
  speakerKubeconfig?: string;
}

export function rssKiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function status(opts: { stateDir?: string } = {}): Promise<Status> {
  const stateDir = resolve(opts.stateDir ?? defaultStateDir());
  const st = readState(stateDir);
  if (!st) return { stateDir, running: false, ready: false };
  const e = ownsProcess(st.etcd.pid, stateDir);
  const a = ownsProcess(st.apiserver.pid, stateDir);
  return {
    stateDir,
    running: e && a,
    ready: e && a && (await isReady(st)),
    etcd: { pid: st.etcd.pid, alive: e, rssKiB: e ? rssKiB(st.etcd.pid) : undefined },
    apiserver: { pid: st.apiserver.pid, alive: a, rssKiB: a ? rssKiB(st.apiserver.pid) : undefined },
    server: st.server,
    kubeconfig: st.kubeconfig,
    speakerKubeconfig: st.speakerKubeconfig,
  };
}
