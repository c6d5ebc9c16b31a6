// The routers' prerequisites: BIRD and FRR from Debian (README's apt-get line), GoBGP from Go
// modules. A missing one stops with the apt-get line instead of an ENOENT in the middle of a test.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { APT_LINE, missingTools } from '../../image/prerequisites.ts';
import { FRR_DAEMON_DIR } from './frr.ts';

/** What is missing for BIRD and FRR: commands on PATH and FRR's daemons (not on PATH). */
export function missingRouterTools(): string[] {
  const missing = missingTools(['bird', 'birdc', 'vtysh']);
  for (const d of ['zebra', 'bgpd']) if (!existsSync(join(FRR_DAEMON_DIR, d))) missing.push(join(FRR_DAEMON_DIR, d));
  return missing;
}

/** Throws naming the missing router tools and the apt-get line, for `what` (e.g. "the BGP lab tests"). */
export function requireRouterTools(what: string): void {
  const missing = missingRouterTools();
  if (missing.length) throw new Error(`${what} needs ${missing.map((t) => `\`${t}\``).join(', ')} (Debian/Ubuntu, as root: ${APT_LINE})`);
}
