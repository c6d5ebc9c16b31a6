// The V8 and malloc settings every shipped way of starting openelb-ts applies (issue 12,
// BENCHMARKS.md "Memory"), kept in one place: the bundle's `#!` line and the bin's first lines (so
// `npx openelb-ts ...` and the image's `openelb-ts` command get them), the image's NODE_OPTIONS, the
// lab's runtimes and the Deno command line are checked against these (test/unit/runtime-flags.test.ts).
//
// They must be in place when the process starts: V8 sizes its heap once (a flag set from inside the
// process with v8.setFlagsFromString had no effect, measured), glibc reads MALLOC_ARENA_MAX once.
//   --max-semi-space-size=1  V8's young generation otherwise grows to 3 x 16 MB under a burst of API
//                            events and keeps it;
//   --optimize-for-size      a smaller old-generation growing factor and a more eager memory reducer:
//                            the heap reserve after a 1,000-Service burst went from ~27 to ~16 MiB
//                            for the same live heap, with no slower IPAM (measured in the same runs);
//   MALLOC_ARENA_MAX=2       glibc otherwise keeps a malloc arena per thread that ever allocated.
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];

/**
 * The part of NODE_FLAGS that Node accepts in NODE_OPTIONS (the image's, for `node /app/...`):
 * Node allows only a few V8 flags there and refuses to start at all on another one ("node:
 * --optimize-for-size is not allowed in NODE_OPTIONS"), which would stop every container, the
 * `openelb-ts` command included (its node inherits the variable).
 */
export const NODE_OPTIONS_FLAGS: readonly string[] = NODE_FLAGS.filter((f) => f.startsWith('--max-semi-space-size'));
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

const envAssignments = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ');

/** The bundle's `#!` line (the image's `openelb-ts` command; the image has GNU env, no shell). */
export const SHEBANG = `#!/usr/bin/env -S ${envAssignments} node ${NODE_FLAGS.join(' ')}`;

/**
 * The first two lines of bin/openelb-ts.js (what `npx openelb-ts` runs on users' machines, where
 * env may lack -S): /bin/sh execs node with the settings on the same file; JavaScript reads line 2
 * as a string statement and a comment.
 */
export const BIN_PRELUDE = `#!/bin/sh\n":" //; exec env ${envAssignments} node ${NODE_FLAGS.join(' ')} "$0" "$@"`;

/** Deno takes V8 flags in one comma-separated --v8-flags. */
export const DENO_V8_FLAGS = `--v8-flags=${NODE_FLAGS.join(',')}`;
