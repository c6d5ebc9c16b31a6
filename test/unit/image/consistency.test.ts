// The image's facts stated in more than one place must agree: the Dockerfile's node version and
// the one `npm run image` downloads, the README's apt-get line and the one missing tools print,
// .ci/run's package list, the Dockerfile's build context and .dockerignore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../scripts/kit/netns.ts';
import { NODE_VERSION } from '../../../scripts/image/build.ts';
import { APT_LINE } from '../../../scripts/image/prerequisites.ts';

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');

test('the Dockerfile builds on the node version npm run image ships', () => {
  assert.match(read('Dockerfile'), new RegExp(`^ARG NODE_VERSION=${NODE_VERSION.replace(/\./g, '\\.')}$`, 'm'));
});

test('README shows the apt-get line a missing tool prints, and .ci/run installs those packages', () => {
  assert.ok(read('README.md').includes(APT_LINE), `README.md must show: ${APT_LINE}`);
  const ci = read('.ci/run');
  for (const pkg of APT_LINE.replace(/^apt-get install -y /, '').split(' ')) assert.match(ci, new RegExp(`\\b${pkg}\\b`), `.ci/run does not install ${pkg}`);
});

test('.dockerignore lets through every path the Dockerfile COPYs', () => {
  const allowed = read('.dockerignore').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  const copied = [...read('Dockerfile').matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
  for (const c of copied) assert.ok(allowed.some((a) => c === a || c.startsWith(`${a}/`)), `.dockerignore hides ${c}`);
});
