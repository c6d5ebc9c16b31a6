// The machine's prerequisites: one apt-get line installs every tool the demo, the tests and the
// image need (README "The two commands" shows the same line; a unit test keeps them equal), and a
// missing tool stops with that line instead of failing later with ENOENT.
import { spawnSync } from 'node:child_process';

/** README's prerequisites line: every Debian package the demo, the tests and the image need. */
export const APT_LINE =
  'apt-get install -y iproute2 iputils-arping iputils-ping ndisc6 curl libcap2-bin util-linux tcpdump procps podman runc skopeo bird2 frr';

/** The tools among `tools` that are not on PATH. */
export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
}

/** Throws a message naming the missing tools and the apt-get line, for `what` (e.g. "npm run image"). */
export function requireTools(what: string, tools: readonly string[]): void {
  const missing = missingTools(tools);
  if (missing.length) {
    throw new Error(`${what} needs ${missing.map((t) => `\`${t}\``).join(', ')} (Debian/Ubuntu, as root: ${APT_LINE})`);
  }
}

