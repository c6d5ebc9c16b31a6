// Stopping and restarting the API server or etcd of a PRIVATE control plane (one this test process
// started through scripts/kit/control-plane.ts; never the shared one of scripts/test.sh, which
// other test files use). The processes are found through the state dir's state.json (the state
// dir is in their command lines), killed, and started again with the same command line, so ports,
// certificates and data stay; state.json is updated so the control plane's own teardown stops the
// new processes.
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ownsProcess, readState, type ControlPlaneState } from '../../scripts/control-plane/lib.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The state dir of the control plane whose API server listens on `server`'s port. */
export function findStateDir(server: string): string {
  const port = new URL(server).port;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!cmd[0]?.endsWith('kube-apiserver') || !cmd.includes(`--secure-port=${port}`)) continue;
    const certDir = cmd.find((a) => a.startsWith('--cert-dir='));
    if (certDir) return certDir.slice('--cert-dir='.length).replace(/\/apiserver-certs$/, '');
  }
  throw new Error(`no kube-apiserver with --secure-port=${port} found`);
}

export type Part = 'apiserver' | 'etcd';

export class ControlPlaneFaults {
  constructor(readonly stateDir: string) {}

  #state(): ControlPlaneState {
    const st = readState(this.stateDir);
    if (!st) throw new Error(`no state.json in ${this.stateDir}`);
    return st;
  }

  pid(part: Part): number {
    return this.#state()[part].pid;
  }

  /** SIGKILL (a crash) and wait until it is gone; returns its command line for restart(). */
  async kill(part: Part, signal: NodeJS.Signals = 'SIGKILL'): Promise<string[]> {
    const pid = this.pid(part);
    if (!ownsProcess(pid, this.stateDir)) throw new Error(`${part} (pid ${pid}) is not running`);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
    process.kill(pid, signal);
    const deadline = Date.now() + 10_000;
    while (ownsProcess(pid, this.stateDir)) {
      if (Date.now() > deadline) throw new Error(`${part} pid ${pid} did not exit`);
      await sleep(20);
    }
    return argv;
  }

  /** Starts `argv` again (detached, logging next to the old log) and records the new pid. */
  restart(part: Part, argv: string[]): number {
    const [bin, ...args] = argv;
    if (!bin) throw new Error('empty argv');
    const fd = openSync(join(this.stateDir, part === 'apiserver' ? 'kube-apiserver.log' : 'etcd.log'), 'a');
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    const st = this.#state();
    st[part].pid = child.pid ?? -1;
    writeFileSync(join(this.stateDir, 'state.json'), JSON.stringify(st, null, 2));
    return st[part].pid;
  }

  /** SIGSTOP / SIGCONT: the process hangs (connections stay open, nothing answers). */
  stall(part: Part, on: boolean): void {
    process.kill(this.pid(part), on ? 'SIGSTOP' : 'SIGCONT');
  }
}
