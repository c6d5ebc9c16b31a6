// Give back the pages of our own program files that only start-up needed.
//
// Why: a speaker on Node maps the 99 MB `node` binary, and start-up (the dynamic linker's
// relocations, bootstrap code, the V8 snapshot) touches about 40 MB of it. Those pages stay in the
// process's RSS for its whole life although a running speaker uses a fraction of them: measured
// here, `announce` with 1,000 addresses held 58 MB RSS of which 39 MB were /usr/bin/node's clean
// file pages. Unmapping them (madvise MADV_DONTNEED) leaves them in the page cache; a page needed
// again comes back with a minor fault (no disk read), so only the working set stays resident.
//
// Safe only for pages identical to the file: private, read-only, file-backed mappings with no
// anonymous (copy-on-write) pages. RELRO sections (written by the dynamic linker, then made
// read-only) carry anonymous pages and are skipped, as is anything writable or shared.
import { readFileSync } from 'node:fs';
import { madvise, MADV_DONTNEED } from './libc.ts';

export interface Mapping {
  start: number;
  end: number;
  /** e.g. 'r-xp' */
  perms: string;
  /** The file, '' for anonymous memory, or a pseudo name such as '[stack]'. */
  path: string;
  /** Copy-on-write and anonymous pages in this mapping, in kB (smaps' `Anonymous:`). */
  anonymousKb: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) ([rwxsp-]{4}) \S+ \S+ \S+\s*(.*)$/;

/** The mappings of a /proc/PID/smaps text. Pure. */
export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      cur = { start: parseInt(h[1]!, 16), end: parseInt(h[2]!, 16), perms: h[3]!, path: h[4]!, anonymousKb: -1 };
      out.push(cur);
      continue;
    }
    if (cur && line.startsWith('Anonymous:')) cur.anonymousKb = Number(/(\d+)/.exec(line)?.[1] ?? -1);
  }
  return out;
}

/**
 * Whether dropping this mapping's resident pages loses nothing: a private, read-only mapping of an
 * existing file, none of whose pages were ever written (an unknown count counts as written). Pure.
 */
export function droppable(m: Mapping): boolean {
  return (
    m.perms[1] === '-' &&
    m.perms[3] === 'p' &&
    m.path.startsWith('/') &&
    !m.path.endsWith(' (deleted)') &&
    m.anonymousKb === 0
  );
}

/**
 * Unmaps the resident pages of every droppable mapping of this process (program, libraries, native
 * addons). Returns how many bytes of address space were advised; failures are skipped (the pages
 * simply stay). Linux only; elsewhere, or without /proc, does nothing.
 */
export function dropStartupPages(): { mappings: number; bytes: number } {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return { mappings: 0, bytes: 0 };
  }
  let mappings = 0;
  let bytes = 0;
  for (const m of parseSmaps(text)) {
    if (!droppable(m)) continue;
    if ((madvise(m.start, m.end - m.start, MADV_DONTNEED) as number) === 0) {
      mappings++;
      bytes += m.end - m.start;
    }
  }
  return { mappings, bytes };
}
