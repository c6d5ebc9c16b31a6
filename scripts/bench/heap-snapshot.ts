// Live heap of a running Node process, exactly: the process is started with
// `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>` (NODE_OPTIONS), and SIGUSR2 makes it write a
// heap snapshot, which V8 takes after a full garbage collection. The sum of the snapshot's node
// sizes is the live heap, with none of the noise of heap-used samples taken between collections;
// grouped by kind and constructor it says where the bytes are. For benchmarks only: a snapshot
// stops the process for a moment and briefly costs memory of its own.
import { copyFileSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface LiveHeap {
  bytes: number;
  /** Bytes by "<kind> <constructor or name>" (objects by constructor; strings, code, arrays by kind). */
  groups: Map<string, number>;
}

export const snapshotNodeOptions = (dir: string): string => `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals `pid` to write a snapshot into `dir` (where only its snapshots go), reads and removes it. */
export async function liveHeap(pid: number, dir: string, timeoutMs = 120_000): Promise<LiveHeap> {
  const mine = (f: string) => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`);
  for (const f of readdirSync(dir).filter(mine)) rmSync(join(dir, f));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await sleep(500);
    const f = readdirSync(dir).find(mine);
    if (!f) continue;
    const path = join(dir, f);
    const size = statSync(path).size;
    // Written synchronously by the process; done when it stops growing and parses.
    if (size === 0 || size !== lastSize) {
      lastSize = size;
      continue;
    }
    let parsed: HeapSnapshotJson;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshotJson;
    } catch {
      continue;
    }
    // OELB_KEEP_HEAP_SNAPSHOTS=<dir>: keep them there for a closer look (e.g. in Chrome's DevTools).
    const keep = process.env.OELB_KEEP_HEAP_SNAPSHOTS;
    if (keep) copyFileSync(path, join(keep, f));
    rmSync(path);
    return summarize(parsed);
  }
  throw new Error(`no heap snapshot from pid ${pid} in ${dir} after ${timeoutMs} ms`);
}

interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Pure: total and grouped self sizes of a parsed .heapsnapshot. */
export function summarize(s: HeapSnapshotJson): LiveHeap {
  const fields = s.snapshot.meta.node_fields;
  const kinds = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const at = (name: string) => {
    const i = fields.indexOf(name);
    if (i < 0) throw new Error(`heap snapshot without node field ${name}`);
    return i;
  };
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
  const groups = new Map<string, number>();
  let bytes = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const size = s.nodes[i + sizeAt]!;
    if (size === 0) continue;
    bytes += size;
    const kind = kinds[s.nodes[i + typeAt]!] ?? '?';
    // Object names are constructor names; other kinds' names are contents (a string's text).
    const key = kind === 'object' || kind === 'closure' ? `${kind} ${s.strings[s.nodes[i + nameAt]!]}` : kind;
    groups.set(key, (groups.get(key) ?? 0) + size);
  }
  return { bytes, groups };
}

/** The groups that grew most from `a` to `b`, bytes per `per` units (e.g. per Service). */
export function growth(a: LiveHeap, b: LiveHeap, per: number, top = 12): Array<{ group: string; bytesPer: number }> {
  const keys = new Set([...a.groups.keys(), ...b.groups.keys()]);
  return [...keys]
    .map((group) => ({ group, bytesPer: Math.round(((b.groups.get(group) ?? 0) - (a.groups.get(group) ?? 0)) / per) }))
    .sort((x, y) => y.bytesPer - x.bytesPer)
    .slice(0, top);
}
