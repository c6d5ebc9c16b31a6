// Upstream OpenELB's speaker/controller flags start the speaker unchanged: parsed, named in one
// warning, and --enable-layer2 keeps its meaning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ignoredFlagsWarning, parseFlags } from '../../../src/cli/flags.ts';
import { speakerConfig, speakerFlags } from '../../../src/cli/speaker.ts';
import { upstreamSpeakerFlags } from '../../../src/cli/upstream-speaker-flags.ts';

const ALL = [...speakerFlags, ...upstreamSpeakerFlags];

// As upstream's chart (charts/templates/openelb-speaker.yaml) passes them.
const CHART_ARGS = ['--api-hosts=:50051', '--enable-keepalived-vip=false', '--enable-layer2=true'];

test("upstream chart's speaker args parse; the two that do not apply are named in one warning", () => {
  const { values, given } = parseFlags(ALL, [...CHART_ARGS, '--node-name', 'n1'], {});
  const cfg = speakerConfig(values);
  assert.equal(cfg.enableLayer2, true);
  const w = ignoredFlagsWarning(upstreamSpeakerFlags, given);
  assert.match(w ?? '', /^ignoring OpenELB flags that do not apply to openelb-ts: --api-hosts \(.*gobgp.*\); --enable-keepalived-vip \(.*vip.*\)$/);
  assert.doesNotMatch(w ?? '', /enable-layer2/);
});

test('--enable-layer2=false keeps its meaning (IPAM only)', () => {
  const { values } = parseFlags(ALL, ['--enable-layer2=false', '--node-name', 'n1'], {});
  assert.equal(speakerConfig(values).enableLayer2, false);
});

test('every upstream flag is accepted in upstream syntax; nothing given, no warning', () => {
  const argv = upstreamSpeakerFlags.map((f) => (f.kind === 'boolean' ? `--${f.name}=false` : f.kind === 'number' ? `--${f.name}=2` : `--${f.name}=x`));
  const { given } = parseFlags(ALL, [...argv, '--node-name', 'n1'], {});
  const w = ignoredFlagsWarning(upstreamSpeakerFlags, given) ?? '';
  for (const f of upstreamSpeakerFlags) assert.ok(w.includes(`--${f.name} (`), `--${f.name} named`);
  assert.equal(ignoredFlagsWarning(upstreamSpeakerFlags, parseFlags(ALL, ['--node-name', 'n1'], {}).given), undefined);
  // Upstream's names do not shadow ours.
  const names = ALL.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
});

test('the speaker process starts with upstream args: one warning line, no "unknown flag"', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'speaker', ...CHART_ARGS, '--node-name', 'n1', '--kubeconfig', '/nonexistent/kubeconfig'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '' },
    timeout: 60_000,
  });
  assert.doesNotMatch(r.stderr, /unknown flag/);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('ignoring OpenELB flags'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0] ?? '', /--api-hosts .*--enable-keepalived-vip/);
});
