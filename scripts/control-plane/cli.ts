// npm run control-plane -- up|down|status [--state-dir DIR]
// `up` prints KUBECONFIG=<admin kubeconfig> as the last line of stdout.
import { down, status, up, defaultStateDir, ensureBinaries } from './lib.ts';

const USAGE = `usage: npm run control-plane -- <up|down|status|build> [--state-dir DIR]

  up      build if needed, start etcd + kube-apiserver on loopback, apply deploy/,
          write kubeconfigs; last stdout line: KUBECONFIG=<admin kubeconfig>
  down    stop the processes and remove the state directory
  status  show what runs (exit 1 when not running)
  build   only build (or reuse) the binaries; prints their directory

  --state-dir DIR   default ${defaultStateDir()}`;

async function main(argv: string[]): Promise<number> {
  let stateDir: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-dir') stateDir = argv[++i];
    else if (a.startsWith('--state-dir=')) stateDir = a.slice('--state-dir='.length);
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else rest.push(a);
  }
  const [cmd, ...extra] = rest;
  if (extra.length || (stateDir !== undefined && !stateDir)) {
    console.error(USAGE);
    return 2;
  }
  switch (cmd) {
    case 'up': {
      const st = await up({ stateDir });
      console.log(`SPEAKER_KUBECONFIG=${st.speakerKubeconfig}`);
      console.log(`KUBECONFIG=${st.kubeconfig}`);
      return 0;
    }
    case 'down':
      await down({ stateDir });
      return 0;
    case 'status': {
      const s = await status({ stateDir });
      console.log(JSON.stringify(s, null, 2));
      return s.ready ? 0 : 1;
    }
    case 'build':
      console.log(ensureBinaries());
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`control-plane: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
