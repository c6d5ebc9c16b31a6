// The container tools as this repository's scripts call them: podman (with runc), skopeo.
// Every call goes through here so it uses scripts/image/containers.conf (runc and ulimits that work
// on hybrid-cgroup kernels) unless the caller set CONTAINERS_CONF, and so a missing tool stops
// with the one apt-get line that installs everything (README "The two commands").
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import process from 'node:process';
import { REPO_ROOT } from './stage.ts';
export { APT_LINE, missingTools, requireTools } from './prerequisites.ts';

export const CONTAINERS_CONF = join(REPO_ROOT, 'scripts/image/containers.conf');

/** The environment additions every podman/skopeo call gets. */
export function containersConfEnv(): Record<string, string> {
  return { CONTAINERS_CONF: process.env.CONTAINERS_CONF || CONTAINERS_CONF };
}

export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...containersConfEnv() };
}

/** The container tools the image build and the image runtime use. */
export const CONTAINER_TOOLS = ['podman', 'runc', 'skopeo'] as const;

/** Runs podman synchronously; returns stdout (trimmed), throws with podman's stderr on failure. */
export function podman(args: string[], opts: { timeoutMs?: number } = {}): string {
  return tool('podman', args, opts);
}

export function skopeo(args: string[], opts: { timeoutMs?: number } = {}): string {
  return tool('skopeo', args, opts);
}

function tool(cmd: string, args: string[], opts: { timeoutMs?: number }): string {
  const r = spawnSync(cmd, args, { env: podmanEnv(), encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} ... failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/** The image ID podman has under ref, or undefined. */
export function imageId(ref: string): string | undefined {
  try {
    return execFileSync('podman', ['image', 'inspect', '--format', '{{.Id}}', ref], { env: podmanEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
