// A long-running command that fails at start must still exit when started through npx: the
// launcher watches (native-bindings/parent-death.ts) hold event-loop handles and must be
// released when the command returns. Before that fix this call never returned.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('`npx openelb-ts announce` with a missing NIC exits with its error instead of hanging', () => {
  const r = spawnSync('npx', ['--offline', 'openelb-ts', 'announce', '--interface', 'oelb-none9', '--address', '192.0.2.9'], {
    encoding: 'utf8',
    timeout: 90_000, // a hang, not slowness, is the failure: the process is killed and status is null
  });
  assert.equal(r.signal, null, `killed after hanging; stderr: ${r.stderr}`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /network interface "oelb-none9" not found/);
});
