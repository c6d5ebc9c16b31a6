// npm run kubectl -- <args>: the built kubectl against the test control plane.
// Kubeconfig: $OELB_KUBECONFIG, else the default state dir's admin kubeconfig
// (never the caller's $KUBECONFIG, which may point at a real cluster).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStateDir, readState } from './lib.ts';

const stateDir = process.env.OELB_STATE_DIR || defaultStateDir();
const st = readState(stateDir);
const kubeconfig = process.env.OELB_KUBECONFIG || st?.kubeconfig;
if (!st || !kubeconfig || !existsSync(kubeconfig)) {
  console.error(`no control plane in ${stateDir}: run \`npm run control-plane -- up\` first`);
  process.exit(1);
}
const r = spawnSync(join(st.binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, KUBECONFIG: kubeconfig },
});
process.exit(r.status ?? 1);
