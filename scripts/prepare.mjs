// `npm ci` and `npm install` run this (package.json "prepare"): build dist/ (scripts/build.ts) so
// that `npx openelb-ts` runs prebuilt JavaScript, with no TypeScript loader or esbuild service
// process beside a speaker (issue 12). Plain JavaScript on purpose: it must run before anything
// else is known to work.
//
// Without dev dependencies (`npm ci --omit=dev`) there is nothing to build with: it says so and
// succeeds, and bin/openelb-ts.js runs the sources through tsx if that is installed. A build that
// starts and fails is an error (exit 1): a broken bundle must not ship quietly.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const can = async (pkg) => {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
};
if (!(await can('esbuild')) || !(await can('tsx/esm/api'))) {
  process.stderr.write('openelb-ts prepare: esbuild/tsx not installed (dev dependencies omitted); not building dist/\n');
  process.exit(0);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build.ts')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
