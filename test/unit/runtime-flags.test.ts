// The memory settings (src/cli/runtime-flags.ts) reach the processes users start: `npx openelb-ts`
// runs bin/openelb-ts.js through its #! line, the image runs the bundle through the bundle's #! line
// (or node with the image's NODE_OPTIONS), and every one of them carries the same flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BIN_PRELUDE, MALLOC_ENV, NODE_FLAGS, NODE_OPTIONS_FLAGS, SHEBANG } from '../../src/cli/runtime-flags.ts';

const repo = resolve(import.meta.dirname, '../..');
const firstLine = (path: string) => readFileSync(path, 'utf8').split('\n', 1)[0];

// What a started process reports about itself: its V8 flags, its malloc setting, and the young
// generation V8 actually sized (the flag taking effect, not only being on the command line).
const REPORT =
  "import v8 from 'node:v8'; const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');" +
  " console.log(JSON.stringify({ execArgv: process.execArgv, arena: process.env.MALLOC_ARENA_MAX, newSpaceMiB: ns.space_size / 1048576 }));\n";

test('bin/openelb-ts.js, run as npx runs it (through its #! line), starts node with the memory flags', (t) => {
  assert.ok(readFileSync(join(repo, 'bin/openelb-ts.js'), 'utf8').startsWith(BIN_PRELUDE + '\n'), 'bin starts with BIN_PRELUDE');
  const dir = mkdtempSync(join(tmpdir(), 'oelb-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  cpSync(join(repo, 'bin/openelb-ts.js'), join(dir, 'bin/openelb-ts.js'));
  chmodSync(join(dir, 'bin/openelb-ts.js'), 0o755);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  writeFileSync(join(dir, 'src/cli/main.ts'), '');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'src/cli/main.ts'), past, past);
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist/openelb-ts.mjs'), REPORT);
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  // Through a symlink with a space in its directory, as npm links bins into node_modules/.bin.
  mkdirSync(join(dir, 'node bin'));
  symlinkSync(join(dir, 'bin/openelb-ts.js'), join(dir, 'node bin/openelb-ts'));
  for (const exe of [join(dir, 'bin/openelb-ts.js'), join(dir, 'node bin/openelb-ts')]) {
    const got = JSON.parse(execFileSync(exe, [], { env, encoding: 'utf8' }));
    assert.deepEqual(got.execArgv, [...NODE_FLAGS], exe);
    assert.equal(got.arena, MALLOC_ENV.MALLOC_ARENA_MAX);
    assert.ok(got.newSpaceMiB <= 2, `young generation capped: new space ${got.newSpaceMiB} MiB`);
  }
  // Arguments reach the program unchanged (the shell passes "$@").
  writeFileSync(join(dir, 'dist/openelb-ts.mjs'), 'console.log(JSON.stringify(process.argv.slice(2)));\n');
  const args = ['speaker', '--node-name', 'a b', '--x=$HOME', ''];
  assert.deepEqual(JSON.parse(execFileSync(join(dir, 'node bin/openelb-ts'), args, { env, encoding: 'utf8' })), args);
});

test('node bin/openelb-ts.js (no shell) still runs: line 2 is JavaScript too', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oelb-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'p.mjs'), `${BIN_PRELUDE}\nconsole.log('ran');\n`);
  assert.equal(execFileSync(process.execPath, [join(dir, 'p.mjs')], { encoding: 'utf8' }).trim(), 'ran');
});

test('the bundle (the image`s openelb-ts command) starts with the same #! line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'oelb-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'scripts/build.ts'), '--outdir', dir], { cwd: repo, stdio: 'ignore' });
  assert.equal(firstLine(join(dir, 'openelb-ts.mjs')), SHEBANG);
  // The line itself, run: a script with the bundle's first line reports the flags.
  writeFileSync(join(dir, 'report.mjs'), `${SHEBANG}\n${REPORT}`);
  chmodSync(join(dir, 'report.mjs'), 0o755);
  const got = JSON.parse(execFileSync(join(dir, 'report.mjs'), [], { encoding: 'utf8', env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` } }));
  assert.deepEqual(got.execArgv, [...NODE_FLAGS]);
  assert.equal(got.arena, '2');
});

test('the image sets the flags Node allows in NODE_OPTIONS (for `node /app/openelb-ts.mjs`), and node starts with them', () => {
  const env = /^ENV NODE_OPTIONS="([^"]*)" MALLOC_ARENA_MAX=(\S+)$/m.exec(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
  assert.ok(env, 'Dockerfile has ENV NODE_OPTIONS="..." MALLOC_ARENA_MAX=...');
  assert.deepEqual(env[1]!.split(' '), [...NODE_OPTIONS_FLAGS]);
  assert.equal(env[2], MALLOC_ENV.MALLOC_ARENA_MAX);
  // Node refuses to start on a V8 flag it does not allow in NODE_OPTIONS; every container would.
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write("up")'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: env[1] } });
  assert.equal(r.status, 0, `node with the image's NODE_OPTIONS: ${r.stderr}`);
  assert.equal(r.stdout, 'up');
});
