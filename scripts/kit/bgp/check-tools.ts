// `tsx scripts/kit/bgp/check-tools.ts <what>`: exit 1 with the README's apt-get line when BIRD or
// FRR is missing (scripts/test.sh runs it before the netns and lab tiers).
import process from 'node:process';
import { requireRouterTools } from './tools.ts';

try {
  requireRouterTools(process.argv[2] ?? 'this');
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
