// Test access to a real kube-apiserver. With OELB_KUBECONFIG (and
// OELB_SPEAKER_KUBECONFIG) set, as scripts/test.sh does for the cluster and lab
// tiers, every test file shares that control plane; otherwise the first call
// in a process starts a private one (own state dir, own ports) that is stopped
// when the process exits, also on failure or SIGINT/SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import {
  down,
  ensureBinaries,
  killNow,
  runKubectl,
  up,
  type KubectlResult,
} from '../control-plane/lib.ts';

export type { KubectlResult };

export interface KubectlOptions {
  /** stdin for the command (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** Run as someone else, e.g. `cp.speakerKubeconfig`. Default: admin. */
  kubeconfig?: string;
  timeoutMs?: number;
}

export interface ControlPlane {
  /** Admin (system:masters) kubeconfig path. */
  kubeconfig: string;
  /** Kubeconfig for ServiceAccount openelb-system/openelb-speaker (token, 24 h). */
  speakerKubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** True when this process started it (and stop() will tear it down). */
  private: boolean;
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** A fresh client-node KubeConfig for the admin user. */
  adminConfig(): KubeConfig;
  /** A fresh client-node KubeConfig for the speaker ServiceAccount. */
  speakerConfig(): KubeConfig;
  /** Stops a private control plane; no-op for a shared one. */
  stop(): Promise<void>;
}

let current: Promise<ControlPlane> | undefined;

/** The control plane for this test process (started once, shared by all tests in the file). */
export function controlPlane(): Promise<ControlPlane> {
  current ??= start();
  return current;
}

function loadConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function make(
  binDir: string,
  kubeconfig: string,
  speakerKubeconfig: string,
  isPrivate: boolean,
  stop: () => Promise<void>,
): ControlPlane {
  const server = loadConfig(kubeconfig).getCurrentCluster()?.server ?? '';
  return {
    kubeconfig,
    speakerKubeconfig,
    server,
    private: isPrivate,
    kubectl: (args, opts = {}) =>
      runKubectl(binDir, opts.kubeconfig ?? kubeconfig, args, { input: opts.input, timeoutMs: opts.timeoutMs }),
    adminConfig: () => loadConfig(kubeconfig),
    speakerConfig: () => loadConfig(speakerKubeconfig),
    stop,
  };
}

async function start(): Promise<ControlPlane> {
  const shared = process.env.OELB_KUBECONFIG;
  if (shared) {
    const speaker = process.env.OELB_SPEAKER_KUBECONFIG;
    if (!speaker) throw new Error('OELB_KUBECONFIG is set but OELB_SPEAKER_KUBECONFIG is not');
    const binDir = process.env.OELB_BIN_DIR || ensureBinaries(() => {});
    return make(binDir, shared, speaker, false, async () => {});
  }

  const stateDir = mkdtempSync(join(tmpdir(), 'oelb-cp-'));
  // Synchronous last resort: 'exit' handlers cannot await, so SIGKILL by PID
  // (the PIDs are checked against the state dir first) and drop the files.
  const onExit = () => {
    killNow(stateDir, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    onExit();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let st;
  try {
    st = await up({ stateDir, log: () => {} });
  } catch (e) {
    onExit();
    throw e;
  }
  let stopped = false;
  return make(st.binDir, st.kubeconfig, st.speakerKubeconfig, true, async () => {
    if (stopped) return;
    stopped = true;
    await down({ stateDir, log: () => {} });
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    current = undefined;
  });
}

/** `prefix-<6 hex>`: unique enough for names of namespaces, Eips, Services in a shared control plane. */
export function uniqueName(prefix = 'oelb'): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates a namespace with a unique name for one test and returns its name.
 * There is no namespace controller, so deleting it would never finish; the
 * namespace stays (empty or not) until the control plane is stopped.
 */
export async function testNamespace(cp: ControlPlane, prefix = 'oelb-test'): Promise<string> {
  const name = uniqueName(prefix);
  const r = await cp.kubectl(['create', 'namespace', name]);
  if (r.code !== 0) throw new Error(`create namespace ${name}: ${r.stderr}`);
  return name;
}
