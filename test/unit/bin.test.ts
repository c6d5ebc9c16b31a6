// `npx openelb-ts` (bin/openelb-ts.js) runs the prebuilt bundle when it is current, and the
// TypeScript sources through tsx only without one, when a source is newer, or when asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

function layout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oelb-bin-'));
  mkdirSync(join(dir, 'bin'));
  cpSync(join(repo, 'bin/openelb-ts.js'), join(dir, 'bin/openelb-ts.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  writeFileSync(join(dir, 'src/cli/main.ts'), "const from: string = 'source'; console.log(from, typeof process.env.TSX_VERSION);\n");
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist/openelb-ts.mjs'), "console.log('bundle', process.execArgv.join(' ') || 'no-loader');\n");
  return dir;
}

const run = (dir: string, env: Record<string, string> = {}) =>
  execFileSync(process.execPath, [join(dir, 'bin/openelb-ts.js')], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' }).trim();

test('the bundle runs when it is newer than every source; otherwise, or when asked, the sources', (t) => {
  const dir = layout();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'src/cli/main.ts'), past, past);
  assert.equal(run(dir), 'bundle no-loader', 'a current bundle runs with no loader');
  assert.match(run(dir, { OPENELB_TS_FROM_SOURCE: '1' }), /^source/);
  utimesSync(join(dir, 'src/cli/main.ts'), new Date(), new Date(Date.now() + 1000));
  assert.match(run(dir), /^source/, 'an edited source is newer than the bundle: run the source');
  rmSync(join(dir, 'dist'), { recursive: true });
  assert.match(run(dir), /^source/, 'no bundle: run the source');
});
