// Tie a long-running command to the process that launched it: when the launcher goes away, we get
// SIGTERM and our normal graceful stop runs.
//
// Why: `npx openelb-ts announce ...` is npm -> sh -> node, and `npx tsx src/cli/main.ts` adds tsx's
// launcher (npm -> sh -> node tsx -> node). A supervisor that SIGTERMs the pid it started (npm)
// ends npm and the shell, but the rest was re-parented to init and kept answering ARP for
// addresses nobody manages any more.
//
// Two mechanisms:
// - prctl(PR_SET_PDEATHSIG, SIGTERM): the kernel signals us when our parent exits, however it died
//   (also SIGKILL).
// - pidfd_open on every launcher above the parent (npm, the `sh -c` it runs, tsx's launcher): the
//   fd becomes readable when that process exits. Needed because an intermediate launcher (tsx's)
//   does not die with its own parent. The walk stops at the first ancestor that is not a launcher
//   (the user's shell, a service manager), so `nohup` and terminals keep their usual meaning.
//
// The signal is only armed from the moment prctl runs: a parent that died earlier (during our
// start-up) is caught by comparing the parent pid seen at module load with the one seen after
// arming, and by npm's marker when we were already re-parented before any of our code ran.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { close, errno, getppid, prctl, PR_SET_PDEATHSIG, SIGTERM, strerror, syscall3, SYS_pidfd_open } from './libc.ts';
import { watchReadable, type ReadableWatch } from './runtime.ts';

export interface ParentFacts {
  /** Parent pid seen as early as possible (module load of the entry point). */
  ppidAtLaunch: number;
  /** Parent pid seen after the death signal is armed. */
  ppidNow: number;
  /** Our own pid (1 in a container: no parent to follow). */
  pid: number;
  /** npm's `npm_command` environment marker: set when npm (npx, npm exec, npm run) started us. */
  npmCommand: string | undefined;
}

/** Whether the launcher is already gone, and why. Pure. */
export function parentGone(f: ParentFacts): string | undefined {
  if (f.pid === 1) return undefined;
  if (f.ppidNow !== f.ppidAtLaunch) return `the launching process (pid ${f.ppidAtLaunch}) exited during start-up`;
  // Started by npm but already adopted by init: the npm/sh chain died before our first line ran.
  // (A service manager starting us directly also gives ppid 1, but then npm_command is unset.)
  if (f.ppidNow === 1 && f.npmCommand) return `started by npm ${f.npmCommand}, whose process has already exited`;
  return undefined;
}

export interface Ancestor {
  pid: number;
  /** argv joined by spaces (npm rewrites its own title to `npm exec ...`). */
  cmdline: string;
}

const LAUNCHER = /(^|[\s/'"])(npm|npx|tsx|openelb-ts)([\s.'"]|-cli|$)|npm-cli\.js|tsx\/dist\/cli/;

/**
 * From the parent upwards: the pids that are launchers (npm/npx, the `sh -c` npm runs a bin in,
 * tsx, our own bin), stopping at the first ancestor that is not one, and never pid 1. Pure.
 */
export function launcherChain(ancestors: readonly Ancestor[]): number[] {
  const out: number[] = [];
  for (const a of ancestors) {
    if (a.pid <= 1 || !LAUNCHER.test(a.cmdline)) break;
    out.push(a.pid);
  }
  return out;
}

function readAncestors(from: number, max = 8): Ancestor[] {
  const out: Ancestor[] = [];
  let pid = from;
  while (pid > 1 && out.length < max) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid, cmdline });
      // Field 4 of /proc/PID/stat, after the parenthesised command name (which may hold spaces).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break; // exited meanwhile, or /proc not readable: watch what we have
    }
  }
  return out;
}

/**
 * Arms SIGTERM-on-parent-death, watches the launchers above the parent, and checks the parent is
 * still there. Returns a reason to refuse to start (or undefined) and `release`, which stops the
 * watches: call it when the command returns, or their handles would keep the process alive.
 * Throws only if prctl itself fails.
 */
export function dieWithParent(ppidAtLaunch: number, env: Record<string, string | undefined>): { gone: string | undefined; release: () => void } {
  if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) !== 0) {
    const e = errno();
    throw new Error(`prctl(PR_SET_PDEATHSIG): ${strerror(e)} (errno ${e})`);
  }
  const ppid = getppid();
  const gone = parentGone({ ppidAtLaunch, ppidNow: ppid, pid: process.pid, npmCommand: env.npm_command || undefined });
  if (gone) return { gone, release: () => {} };
  const chain = launcherChain(readAncestors(ppid)).filter((p) => p !== ppid); // the parent is covered by prctl
  const watches: Array<{ fd: number; watch: ReadableWatch }> = [];
  const stopWatching = (): void => {
    for (const w of watches.splice(0)) {
      w.watch.close();
      close(w.fd);
    }
  };
  for (const pid of chain) {
    const fd = Number(syscall3(SYS_pidfd_open, pid, 0));
    if (fd < 0) continue; // already gone (caught below) or a kernel without pidfd (< 5.3): prctl only
    const watch = watchReadable(fd, () => {
      stopWatching();
      process.kill(process.pid, 'SIGTERM');
    });
    watches.push({ fd, watch });
  }
  // Our own stop must not wait on these handles.
  process.once('SIGTERM', stopWatching);
  process.once('SIGINT', stopWatching);
  const alive = chain.every((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  });
  return { gone: alive ? undefined : 'a launching process exited during start-up', release: stopWatching };
}
