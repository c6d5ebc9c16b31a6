// `openelb-ts <subcommand>`: each subcommand lives in its own file and exports run(argv) -> exit code.
import { UsageError } from './flags.ts';

// Read before anything slow (koffi, the Kubernetes client) loads: the parent check in
// native-bindings/parent-death.ts compares it with the parent seen once the death signal is armed.
const ppidAtLaunch = process.ppid;

// longRunning: the command must not outlive whoever launched it (npx, tsx, a supervisor's shell).
const commands: Record<string, { summary: string; longRunning?: true; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  speaker: { summary: 'the DaemonSet daemon: IPAM (when elected) and ARP/NDP announcing', longRunning: true, load: () => import('./speaker.ts') },
  announce: { summary: 'answer ARP/NDP for given IPs on one NIC, no Kubernetes (debugging, demos)', longRunning: true, load: () => import('./announce.ts') },
  doctor: { summary: 'check this node and cluster for what Layer 2 mode needs, and explain fixes', load: () => import('./doctor.ts') },
};

function usage(): string {
  const lines = ['usage: openelb-ts <command> [flags]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `openelb-ts <command> --help` for its flags.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`openelb-ts: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let release = (): void => {};
  if (command.longRunning && !rest.includes('--help') && !rest.includes('-h')) {
    const { dieWithParent } = await import('../../native-bindings/parent-death.ts');
    const tie = dieWithParent(ppidAtLaunch, process.env);
    release = tie.release;
    if (tie.gone) {
      release();
      process.stderr.write(`openelb-ts ${name}: not starting: ${tie.gone}\n`);
      return 1;
    }
  }
  try {
    return await (await command.load()).run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`openelb-ts ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    // The launcher watches hold event-loop handles: a command that returns must not hang on them.
    release();
  }
}

const args = typeof (globalThis as { Deno?: { args: string[] } }).Deno !== 'undefined'
  ? (globalThis as unknown as { Deno: { args: string[] } }).Deno.args
  : process.argv.slice(2);
process.exitCode = await main(args);
