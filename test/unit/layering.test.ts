// Imports point down the layers (DESIGN.md "Layers"; README "Design"): native-bindings <- src/l2 <-
// src/speaker, src/ipam is pure, src/kube is the API edge below the speaker, the CLI is on top; the
// test kit lives in scripts/ and tests use it (test -> scripts), never the other way round. This
// reads every import/export-from/dynamic import() in the repository and fails on one that points up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A file (repo-relative, '/'-separated) in `from` must not import anything under `to`. */
interface Rule {
  from: string;
  to: string[];
  why: string;
}

const RULES: Rule[] = [
  { from: 'scripts/', to: ['test/'], why: 'the shared kit is in scripts/; tests import it, not the reverse' },
  { from: 'native-bindings/', to: ['src/', 'scripts/', 'test/'], why: 'native-bindings is the bottom layer (the C ABI only)' },
  { from: 'src/l2/', to: ['src/kube/', 'src/speaker/', 'src/ipam/', 'src/cli/'], why: 'src/l2 knows packets and NICs, not Kubernetes, IPAM or who announces' },
  { from: 'src/ipam/', to: ['src/l2/', 'src/kube/', 'src/speaker/', 'src/cli/'], why: 'src/ipam is pure decisions over plain data' },
  { from: 'src/kube/', to: ['src/speaker/', 'src/cli/'], why: 'src/kube is the API edge below the speaker' },
  { from: 'src/speaker/', to: ['src/cli/'], why: 'the CLI starts the speaker, not the reverse' },
  { from: 'src/bgp/', to: ['src/kube/', 'src/speaker/', 'src/ipam/', 'src/cli/', 'src/l2/', 'src/doctor/'], why: 'src/bgp is a protocol layer like src/l2: TCP, messages and peers, not Kubernetes, IPAM or who announces' },
  { from: 'src/observe/', to: ['src/l2/', 'src/kube/', 'src/speaker/', 'src/ipam/', 'src/cli/', 'src/doctor/'], why: 'metrics and health endpoints are a leaf every layer may use' },
  { from: 'src/', to: ['scripts/', 'test/'], why: 'shipped code never depends on the test kit or tests' },
];

export interface FileImports {
  file: string;
  imports: string[];
}

/** Module specifiers of static imports, `export ... from` and dynamic import('...') in a source text. */
export function importSpecifiers(text: string): string[] {
  // Comments could hold example imports; strip them first (line and block), keeping strings.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[\w*${}\s,]+?\s+from\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every violation as "file -> target (why)"; targets are repo-relative. Pure. */
export function layerViolations(files: FileImports[], rules: Rule[] = RULES): string[] {
  const out: string[] = [];
  for (const { file, imports } of files) {
    for (const spec of imports) {
      if (!spec.startsWith('.')) continue; // packages and node: built-ins
      const target = normalize(join(dirname(file), spec)).split('\\').join('/');
      for (const r of rules) {
        if (!file.startsWith(r.from)) continue;
        const bad = r.to.find((t) => target.startsWith(t));
        if (bad) out.push(`${file} -> ${target} (${r.why})`);
      }
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

test('import parsing: static, type-only, re-exports and dynamic imports; not comments', () => {
  const text = [
    "import { a } from '../l2/a.ts';",
    "import type { B } from './b.ts';",
    "import * as c from '../c.ts';",
    "import '../side-effect.ts';",
    "export { d } from '../kube/d.ts';",
    "export * from './e.ts';",
    "const f = await import('../../scripts/f.ts');",
    "import {\n  g,\n  h,\n} from '../g.ts';",
    "// import { no } from '../commented.ts';",
    "/* import { no } from '../block.ts'; */",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text).sort(), ['../../scripts/f.ts', '../c.ts', '../g.ts', '../kube/d.ts', '../l2/a.ts', '../side-effect.ts', './b.ts', './e.ts'].sort());
});

test('the rules catch imports pointing up (and allow the ones pointing down)', () => {
  const v = layerViolations([
    { file: 'src/l2/x.ts', imports: ['../kube/client.ts', '../log.ts', '../../native-bindings/bpf.ts', '../observe/metrics.ts'] },
    { file: 'src/ipam/y.ts', imports: ['../l2/ip-text.ts', './address.ts', 'ip-address'] },
    { file: 'src/kube/z.ts', imports: ['../speaker/election.ts', '../ipam/state.ts'] },
    { file: 'native-bindings/w.ts', imports: ['../src/log.ts'] },
    { file: 'scripts/lab/lab.ts', imports: ['../../test/reliability/x.ts', '../../src/speaker/election.ts', '../kit/netns.ts'] },
    { file: 'test/lab/t.test.ts', imports: ['../../scripts/lab/lab.ts', '../../src/l2/arp.ts'] },
    { file: 'src/cli/main.ts', imports: ['../../scripts/build.ts', '../speaker/context.ts'] },
    { file: 'src/bgp/speaker.ts', imports: ['../../native-bindings/tcp-options.ts', '../net/ip.ts', '../log.ts', '../observe/metrics.ts', '../speaker/context.ts', '../kube/client.ts'] },
  ]);
  assert.deepEqual(v.map((x) => x.split(' (')[0]), [
    'src/l2/x.ts -> src/kube/client.ts',
    'src/ipam/y.ts -> src/l2/ip-text.ts',
    'src/kube/z.ts -> src/speaker/election.ts',
    'native-bindings/w.ts -> src/log.ts',
    'scripts/lab/lab.ts -> test/reliability/x.ts',
    'src/cli/main.ts -> scripts/build.ts',
    'src/bgp/speaker.ts -> src/speaker/context.ts',
    'src/bgp/speaker.ts -> src/kube/client.ts',
  ]);
});

test('no import in the repository points up the layers', () => {
  const files = ['src', 'native-bindings', 'scripts', 'test', 'bin'].flatMap(sourceFiles).map((file) => ({
    file,
    imports: importSpecifiers(readFileSync(join(ROOT, file), 'utf8')),
  }));
  assert.ok(files.length > 100, `read ${files.length} files`);
  assert.ok(files.some((f) => f.file === relative(ROOT, fileURLToPath(import.meta.url)).split('\\').join('/')), 'this file is among them');
  const v = layerViolations(files);
  assert.deepEqual(v, [], `imports pointing up the layers:\n${v.join('\n')}`);
});
