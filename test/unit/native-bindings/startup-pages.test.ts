// Which of a process's mappings may have their resident pages dropped (native-bindings/startup-pages.ts):
// only pages identical to their file. A wrong "yes" would discard relocated pointers or data.
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { test } from 'node:test';
import { droppable, parseSmaps } from '../../../native-bindings/startup-pages.ts';

// Trimmed from a real /proc/PID/smaps of node (other fields left out; the parser skips them).
const SMAPS = `00400000-00b6f000 r--p 00000000 08:01 1234                               /usr/bin/node
Size:               7612 kB
Rss:                6840 kB
Anonymous:             0 kB
00b72000-025fe000 r-xp 00772000 08:01 1234                               /usr/bin/node
Rss:               20788 kB
Anonymous:             0 kB
0563a000-0563e000 r--p 05239000 08:01 1234                               /usr/bin/node
Rss:                  16 kB
Anonymous:            16 kB
0563e000-0565d000 rw-p 0523d000 08:01 1234                               /usr/bin/node
Anonymous:           124 kB
0565d000-0568a000 rw-p 00000000 00:00 0
Anonymous:           180 kB
7f1277e40000-7f1277fd2000 r-xp 014c4000 08:01 1234                       /usr/bin/node
Anonymous:             0 kB
7f127c262000-7f127c2c8000 r--s 00000000 08:01 99                         /dev/shm/shared
Anonymous:             0 kB
7f127c2c8000-7f127c32e000 r-xp 00066000 08:01 77                         /tmp/old.node (deleted)
Anonymous:             0 kB
7f127c32e000-7f127c376000 r--p 000cc000 08:01 78                         /usr/lib/libfoo.so
7ffd1000-7ffd3000 r-xp 00000000 00:00 0                                  [vdso]
Anonymous:             0 kB
`;

test('parseSmaps reads each mapping: range, permissions, path (with spaces) and anonymous pages', () => {
  const m = parseSmaps(SMAPS);
  assert.equal(m.length, 10);
  assert.deepEqual(m[0], { start: 0x400000, end: 0xb6f000, perms: 'r--p', path: '/usr/bin/node', anonymousKb: 0 });
  assert.equal(m[2]?.anonymousKb, 16);
  assert.equal(m[4]?.path, '');
  assert.equal(m[7]?.path, '/tmp/old.node (deleted)');
  assert.equal(m[8]?.anonymousKb, -1, 'no Anonymous line: unknown');
  assert.equal(m[9]?.path, '[vdso]');
});

test('droppable: only private, read-only file mappings with no written page', () => {
  const verdicts = parseSmaps(SMAPS).map((m) => `${m.perms} ${m.path || '(anon)'} ${droppable(m)}`);
  assert.deepEqual(verdicts, [
    'r--p /usr/bin/node true', // headers, relocation tables: start-up only
    'r-xp /usr/bin/node true', // program text
    'r--p /usr/bin/node false', // RELRO: written by the dynamic linker, then made read-only
    'rw-p /usr/bin/node false', // .data
    'rw-p (anon) false', // heap
    'r-xp /usr/bin/node true', // a second text mapping of the program
    'r--s /dev/shm/shared false', // shared: dropping would be visible to others' accounting, and is not ours
    'r-xp /tmp/old.node (deleted) false', // the file is gone: nothing to fault back from by name
    'r--p /usr/lib/libfoo.so false', // unknown anonymous count counts as written
    'r-xp [vdso] false', // not a file
  ]);
});

test('this process: its program text is droppable, its writable and anonymous mappings are not', () => {
  const maps = parseSmaps(readFileSync('/proc/self/smaps', 'utf8'));
  assert.ok(maps.some((m) => m.perms === 'r-xp' && m.path === realpathSync(process.execPath) && droppable(m)), 'node text');
  assert.ok(maps.every((m) => !(droppable(m) && (m.perms[1] === 'w' || m.anonymousKb !== 0 || !m.path.startsWith('/')))));
});
