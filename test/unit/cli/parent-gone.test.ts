// The start-up parent check of native-bindings/parent-death.ts: a launcher that died before the
// death signal was armed is noticed; a container's pid 1 and a service manager's child are not
// mistaken for orphans.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launcherChain, parentGone } from '../../../native-bindings/parent-death.ts';

test('parent check at start', () => {
  const base = { ppidAtLaunch: 500, ppidNow: 500, pid: 600, npmCommand: undefined };
  assert.equal(parentGone(base), undefined);
  assert.match(parentGone({ ...base, ppidNow: 1 }) ?? '', /pid 500\) exited during start-up/);
  assert.match(parentGone({ ...base, ppidNow: 77 }) ?? '', /exited during start-up/); // adopted by a subreaper
  // Orphaned before our first line ran: only npm's marker tells it from a service manager's child.
  assert.match(parentGone({ ...base, ppidAtLaunch: 1, ppidNow: 1, npmCommand: 'exec' }) ?? '', /npm exec, whose process has already exited/);
  assert.equal(parentGone({ ...base, ppidAtLaunch: 1, ppidNow: 1 }), undefined);
  // pid 1 in a container has no parent to follow.
  assert.equal(parentGone({ ppidAtLaunch: 0, ppidNow: 0, pid: 1, npmCommand: 'exec' }), undefined);
});

test('launcher chain: npm, its sh -c, tsx and our bin are followed; the user shell and init are not', () => {
  const chain = launcherChain([
    { pid: 40, cmdline: '/usr/bin/node /work/node_modules/.bin/tsx src/cli/main.ts announce --interface eth0' },
    { pid: 30, cmdline: "sh -c tsx src/cli/main.ts announce --interface eth0" },
    { pid: 20, cmdline: 'npm exec tsx src/cli/main.ts announce --interface eth0' },
    { pid: 10, cmdline: '-bash' },
    { pid: 5, cmdline: 'npm exec something' }, // above a non-launcher: not ours to follow
  ]);
  assert.deepEqual(chain, [40, 30, 20]);
  assert.deepEqual(launcherChain([{ pid: 7, cmdline: "sh -c 'openelb-ts' announce" }, { pid: 6, cmdline: 'npm exec openelb-ts announce' }, { pid: 1, cmdline: 'npm' }]), [7, 6]);
  assert.deepEqual(launcherChain([{ pid: 9, cmdline: '/usr/lib/systemd/systemd --user' }]), []);
  assert.deepEqual(launcherChain([{ pid: 9, cmdline: 'supervisord -c /etc/s.conf' }, { pid: 8, cmdline: 'npm exec x' }]), []);
});
