#!/bin/sh
":" //; exec env MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --optimize-for-size "$0" "$@"
// The two lines above start node with the memory settings (src/cli/runtime-flags.ts; a unit test
// keeps them equal), which only work from the process's start: `npx openelb-ts` runs this file
// through /bin/sh, which execs node on it (same process); to JavaScript line 2 is a string and a
// comment. A `#!/usr/bin/env -S` line would need GNU env 8.30 or later (busybox has no -S).
// Entry point for `npx openelb-ts`. Runs the prebuilt bundle, dist/openelb-ts.mjs (built by
// `npm run build`, which `npm ci` runs through the "prepare" script), so no compiler runs beside
// a speaker: tsx's loader and its esbuild service cost a speaker tens of MB (issue 12).
// The TypeScript sources run through tsx instead when there is no bundle, when a source file is
// newer than the bundle (development: an edit must not run stale code), or when
// OPENELB_TS_FROM_SOURCE=1.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/openelb-ts.mjs', import.meta.url));

/** Newest modification time (ms) of any file under `dir`. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function bundleIsCurrent() {
  if (process.env.OPENELB_TS_FROM_SOURCE === '1' || !existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  for (const d of ['../src', '../native-bindings']) {
    const dir = fileURLToPath(new URL(d, import.meta.url));
    if (existsSync(dir) && newest(dir) > built) return false;
  }
  return true;
}

if (bundleIsCurrent()) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
