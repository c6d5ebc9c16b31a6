// A small lab of network namespaces for the netns (and lab) test tiers.
//
//   const lab = await Lab.create(t);                // teardown registered on t.after
//   const a = await lab.namespace('client');        // netns "oelb<id>-client", lo up
//   const b = await lab.namespace('server');
//   await lab.veth(a, 'eth0', b, 'eth0', { addrA: '10.99.0.1/24', addrB: '10.99.0.2/24' });
//   const r = await a.exec(['arping', '-c', '1', '-I', 'eth0', '10.99.0.2']);   // never throws
//   await b.run(['ip', 'addr', 'add', '10.99.0.9/32', 'dev', 'eth0']);          // throws on failure
//   const child = b.spawn(tsxArgv('test/netns/fixtures/x.ts', 'eth0'));
//   await child.waitForLine(/ready/);  ...  await child.stop();
//
// Everything is created inside namespaces the lab names (prefix `oelb` + random id, so parallel
// runs and leftovers of a crashed run never collide); nothing is created in the host namespace.
// Teardown kills the lab's children and deletes its namespaces (which removes their veths);
// it runs on t.after, on lab.teardown(), and as a last resort on process exit/SIGINT/SIGTERM.
// Use only private/test addresses (10.0.0.0/8, 192.0.2.0/24, fd00::/8, 2001:db8::/32) inside.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** Repository root (cwd for children, so `--import tsx` and koffi resolve). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ExecOptions {
  /** Kill (SIGKILL) after this long; default 10 s. */
  timeoutMs?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
}

export interface ExecResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: ExecResult,
  ) {
    const why = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
    super(`${argv.join(' ')}: ${why}\n${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs argv (on the host, i.e. the test's own namespace) and collects its output. Never throws for a
 * non-zero exit; throws only if the program cannot be started. */
export function exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('exec: empty argv');
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut, ms: performance.now() - started });
    });
    // A child may exit before reading its stdin; that EPIPE is not an error of the command.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Like exec, but throws CommandError unless the exit code is 0; returns stdout. */
export async function run(argv: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r.stdout;
}

/** argv that runs a TypeScript file on Node through tsx (relative paths are from REPO_ROOT). */
export function tsxArgv(script: string, ...args: string[]): string[] {
  return [process.execPath, '--import', 'tsx', resolve(REPO_ROOT, script), ...args];
}

/** The Deno binary installed by the `deno` dev dependency (npx would put npm between us and the signal). */
export function denoBinary(): string {
  for (const p of ['node_modules/deno/deno', 'node_modules/@deno/linux-x64-glibc/deno', 'node_modules/@deno/linux-arm64-glibc/deno']) {
    const abs = join(REPO_ROOT, p);
    if (existsSync(abs)) return abs;
  }
  throw new Error('deno binary not found under node_modules (run npm ci)');
}

/** argv that runs a TypeScript file on Deno with every permission (koffi needs --allow-ffi). */
export function denoArgv(script: string, ...args: string[]): string[] {
  return [denoBinary(), 'run', '-A', '--quiet', resolve(REPO_ROOT, script), ...args];
}

/** A long-running process (usually inside a namespace). Output is collected as it arrives. */
export class Child {
  stdout = '';
  stderr = '';
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExecResult>;
  #proc: ChildProcess;
  #result: ExecResult | null = null;
  #waiters = new Set<() => void>();

  constructor(readonly argv: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('spawn: empty argv');
    const started = performance.now();
    this.#proc = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#proc.stdin?.on('error', () => undefined); // EPIPE after the child exited
    this.#proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.#notify();
    });
    this.#proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.#notify();
    });
    this.exited = new Promise((res) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#result) return;
        this.#result = { code, signal, stdout: this.stdout, stderr: this.stderr, timedOut: false, ms: performance.now() - started };
        this.#notify();
        res(this.#result);
      };
      this.#proc.on('close', done);
      this.#proc.on('error', (err) => {
        this.stderr += String(err);
        done(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }
  /** The exit result once exited, else null. */
  get result(): ExecResult | null {
    return this.#result;
  }

  /** Writes to the child's stdin (a simple control channel for fixtures). */
  write(text: string): void {
    this.#proc.stdin?.write(text);
  }

  /** Sends a signal (default SIGTERM) if it is still running. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.#result) this.#proc.kill(signal);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit result. */
  async stop(graceMs = 3000): Promise<ExecResult> {
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** Resolves with the first stdout line matching re (checking lines already printed too);
   * rejects if the child exits first or timeoutMs passes. */
  waitForLine(re: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((res, rej) => {
      const check = (): boolean => {
        const line = this.stdout.split('\n').find((l) => re.test(l));
        if (line !== undefined) {
          finish();
          res(line);
          return true;
        }
        if (this.#result) {
          finish();
          rej(new Error(`${this.argv.join(' ')} exited (${this.#result.code ?? this.#result.signal}) before printing ${re}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        rej(new Error(`timed out after ${timeoutMs} ms waiting for ${re} from ${this.argv.join(' ')}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      this.#waiters.add(waiter);
      check();
    });
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** One network namespace of a lab. */
export class Netns {
  constructor(
    readonly lab: Lab,
    readonly name: string,
  ) {}

  /** argv prefixed to run inside this namespace. */
  wrap(argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...argv];
  }

  /** Runs argv inside the namespace; never throws for a non-zero exit. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return exec(this.wrap(argv), opts);
  }

  /** Runs argv inside the namespace; throws CommandError unless it exits 0; returns stdout. */
  run(argv: string[], opts?: ExecOptions): Promise<string> {
    return run(this.wrap(argv), opts);
  }

  /** `ip ARGS...` in this namespace (uses `ip -n`, no exec); throws on failure. */
  ip(...args: string[]): Promise<string> {
    return run(['ip', '-n', this.name, ...args]);
  }

  /** Starts a long-running process inside the namespace; the lab kills it at teardown. */
  spawn(argv: string[], opts?: { env?: Record<string, string>; cwd?: string }): Child {
    const child = new Child(this.wrap(argv), opts);
    this.lab.track(child);
    return child;
  }

  /** MAC (lowercase aa:bb:..) and ifindex of an interface in this namespace. */
  async link(ifname: string): Promise<{ mac: string; ifindex: number; mtu: number; flags: string[] }> {
    const [info] = JSON.parse(await this.ip('-j', 'link', 'show', 'dev', ifname)) as Array<{
      address: string;
      ifindex: number;
      mtu: number;
      flags: string[];
    }>;
    if (!info) throw new Error(`no link ${ifname} in ${this.name}`);
    return { mac: info.address, ifindex: info.ifindex, mtu: info.mtu, flags: info.flags };
  }

  /** The neighbour entry for ip on ifname ({mac, state}) or null. */
  async neighbour(ip: string, ifname: string): Promise<{ mac: string | null; state: string[] } | null> {
    const list = JSON.parse(await this.ip('-j', 'neigh', 'show', 'to', ip, 'dev', ifname)) as Array<{
      dst: string;
      lladdr?: string;
      state?: string[];
    }>;
    const e = list.find((n) => n.dst === ip);
    return e ? { mac: e.lladdr ?? null, state: e.state ?? [] } : null;
  }
}

export interface VethOptions {
  /** Addresses with prefix length ('10.99.0.1/24', 'fd00:99::1/64'), one string or several. */
  addrA?: string | string[];
  addrB?: string | string[];
  macA?: string;
  macB?: string;
  mtu?: number;
  /** Skip IPv6 DAD on both ends so v6 addresses are usable at once (default true). */
  noDad?: boolean;
}

interface TestContextLike {
  after(fn: () => unknown): void;
}

const liveLabs = new Set<Lab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // Last resort when a test crashes or the runner kills us: delete namespaces synchronously.
  process.on('exit', () => {
    for (const lab of liveLabs) lab.teardownSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const lab of liveLabs) lab.teardownSync();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A set of namespaces created for one test, removed together. */
export class Lab {
  /** Random suffix shared by every namespace of this lab, e.g. "3fa2c1". */
  readonly id: string;
  readonly #namespaces: Netns[] = [];
  readonly #children = new Set<Child>();
  #tornDown = false;

  private constructor() {
    this.id = randomBytes(3).toString('hex');
  }

  /** Creates a lab; with a node:test context, teardown is registered on t.after. Requires root. */
  static async create(t?: TestContextLike): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new Error('netns tests need root (network namespaces, raw sockets)');
    const lab = new Lab();
    liveLabs.add(lab);
    installExitHooks();
    t?.after(() => lab.teardown());
    return lab;
  }

  /** Namespace names this lab created (and has not yet deleted). */
  get names(): string[] {
    return this.#namespaces.map((n) => n.name);
  }

  /** Creates namespace `oelb<id>-<role>` with loopback up. role: [a-z0-9-], unique in the lab. */
  async namespace(role: string): Promise<Netns> {
    if (this.#tornDown) throw new Error('lab already torn down');
    if (!/^[a-z0-9-]{1,20}$/.test(role)) throw new Error(`bad namespace role "${role}"`);
    const name = `oelb${this.id}-${role}`;
    if (this.#namespaces.some((n) => n.name === name)) throw new Error(`namespace role "${role}" already used`);
    const ns = new Netns(this, name);
    // Registered before it exists, so a teardown racing with creation still deletes it.
    this.#namespaces.push(ns);
    await run(['ip', 'netns', 'add', name]);
    if (this.#tornDown) {
      // Teardown ran while `ip netns add` was in flight (e.g. the test already failed).
      await exec(['ip', 'netns', 'del', name]);
      throw new Error(`lab torn down while creating namespace ${name}`);
    }
    await ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /**
   * A veth pair with one end in each namespace (created directly there: never in the host
   * namespace), optional MACs/addresses, both ends up. Names are per namespace, so 'eth0' is fine.
   */
  async veth(a: Netns, ifA: string, b: Netns, ifB: string, opts: VethOptions = {}): Promise<void> {
    for (const n of [ifA, ifB]) if (n.length > 15) throw new Error(`interface name "${n}" longer than 15 characters`);
    const args = ['link', 'add', ifA];
    if (opts.macA) args.push('address', opts.macA);
    if (opts.mtu) args.push('mtu', String(opts.mtu));
    args.push('type', 'veth', 'peer', 'name', ifB, 'netns', b.name);
    if (opts.macB) args.push('address', opts.macB);
    if (opts.mtu) args.push('mtu', String(opts.mtu));
    await a.ip(...args);
    await this.#configure(a, ifA, opts.addrA, opts.noDad ?? true);
    await this.#configure(b, ifB, opts.addrB, opts.noDad ?? true);
  }

  /**
   * A namespace holding bridge `br0` (a shared L2 segment). Connect members with attach().
   */
  async bridge(role = 'sw'): Promise<Netns> {
    const sw = await this.namespace(role);
    await sw.ip('link', 'add', 'br0', 'type', 'bridge');
    // Forward at once (no STP listening delay) and keep the MAC table from hiding flooding bugs.
    await sw.ip('link', 'set', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await sw.ip('link', 'set', 'br0', 'up');
    return sw;
  }

  /** Connects ns (interface ifname) to bridge namespace sw (port name `p-<role>`, truncated). */
  async attach(sw: Netns, ns: Netns, ifname: string, opts: Omit<VethOptions, 'addrA' | 'macA'> & { addr?: string | string[]; mac?: string } = {}): Promise<string> {
    const role = ns.name.slice(`oelb${this.id}-`.length);
    const port = `p-${role}`.slice(0, 15);
    const vethOpts: VethOptions = { addrB: opts.addr, noDad: opts.noDad };
    if (opts.mac) vethOpts.macB = opts.mac;
    if (opts.mtu) vethOpts.mtu = opts.mtu;
    await this.veth(sw, port, ns, ifname, vethOpts);
    await sw.ip('link', 'set', port, 'master', 'br0');
    return port;
  }

  async #configure(ns: Netns, ifname: string, addrs: string | string[] | undefined, noDad: boolean): Promise<void> {
    for (const addr of addrs === undefined ? [] : Array.isArray(addrs) ? addrs : [addrs]) {
      const extra = noDad && addr.includes(':') ? ['nodad'] : [];
      await ns.ip('addr', 'add', addr, 'dev', ifname, ...extra);
    }
    await ns.ip('link', 'set', ifname, 'up');
  }

  /** Registers a child for teardown (Netns.spawn does this). */
  track(child: Child): void {
    this.#children.add(child);
    void child.exited.then(() => this.#children.delete(child));
  }

  /** Kills the lab's children, then deletes its namespaces. Idempotent; never throws. */
  async teardown(): Promise<void> {
    if (this.#tornDown) return;
    await Promise.all([...this.#children].map((c) => c.stop(1000).catch(() => undefined)));
    this.teardownSync();
  }

  /** Synchronous teardown for exit handlers: SIGKILL children, delete namespaces. */
  teardownSync(): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    for (const c of this.#children) c.kill('SIGKILL');
    for (const ns of this.#namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    this.#namespaces.length = 0;
    liveLabs.delete(this);
  }
}

/** Names in `ip netns list` (for asserting nothing is left behind). */
export async function listNamespaces(): Promise<string[]> {
  const out = await run(['ip', 'netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/**
 * The distinct MACs that answer one broadcast ARP request (IPv4) or Neighbor Solicitation (IPv6)
 * sent by `ns` on `ifname`, in order of arrival, with real kernel tools. For checking that exactly
 * one host answers, independently of whatever decided who should.
 * IPv4: `arping -c 2 -w W` stops at the second reply or after W s. The first request is broadcast
 * and every answerer replies to it, so two answerers end it at once; one answerer ends it at ~1 s,
 * when its reply to the second (unicast) request arrives; none ends it after W s. (`-c 1 -w W`
 * stops at the FIRST reply and can never see a second MAC.) IPv6: `ndisc6 -m` waits the whole
 * window and prints every advertisement.
 */
export async function answeringMacs(ns: Netns, ifname: string, ip: string, waitS = 2): Promise<string[]> {
  const w = Math.max(1, Math.round(waitS));
  const v6 = ip.includes(':');
  const argv = v6 ? ['ndisc6', '-m', '-r', '1', '-w', String(w * 1000), ip, ifname] : ['arping', '-c', '2', '-w', String(w), '-I', ifname, ip];
  const r = await ns.exec(argv, { timeoutMs: w * 1000 + 3000 });
  const re = v6 ? /Target link-layer address:\s*([0-9A-Fa-f:]{17})/g : /reply from \S+ \[([0-9A-Fa-f:]{17})\]/g;
  return [...new Set([...r.stdout.matchAll(re)].map((m) => m[1]!.toLowerCase()))];
}
