// Node vs Deno differences, in one place. Both load koffi through npm; the difference that
// matters is how a file descriptor's readiness reaches the JS event loop.
//
// Measured (koffi 3.3.4, Node 20.20, Deno 2.9.6):
// - koffi.node.poll(fd, {readable:true}, cb) wraps a libuv uv_poll_t. On Node it is
//   level-triggered and keeps firing while the fd is readable. On Deno (its libuv shim) it fires
//   once per start(): the handle must be re-armed with start() inside every callback.
//   An active handle keeps the process alive on both; close() releases it.
// - The callback is called as (status: number, events: {readable, writable, disconnect}),
//   not (events) as koffi's index.d.ts says.
// - Fallback (OPENELB_TS_POLL=async, or when koffi.node.poll is missing): libc poll() with a
//   short timeout through koffi's .async() (one libuv pool thread per watcher while waiting),
//   then a synchronous drain on the main thread. Same wake-up latency, but each watcher holds a
//   pool thread (4 by default), and close() takes up to POLL_TIMEOUT_MS to release it.
//   Blocking recvfrom through .async() is never used: it would hold a pool thread indefinitely
//   and process.exit() hangs behind it.
import koffi from 'koffi';
import process from 'node:process';
import { poll, POLLIN } from './libc.ts';

export const isDeno: boolean = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
export const runtimeName: string = isDeno ? 'deno' : 'node';

export type WatchMode = 'uv-poll' | 'async-poll';

export interface ReadableWatch {
  readonly mode: WatchMode;
  /** Stops watching; idempotent. After it returns, onReadable is never called again. */
  close(): void;
}

const POLL_TIMEOUT_MS = 100;

type PollCallback = (status: number, events: { readable: boolean }) => void;
interface UvPollHandle {
  start(opts: { readable: boolean }, cb: PollCallback): void;
  close(): void;
}
type UvPollFn = (fd: number, opts: { readable: boolean }, cb: PollCallback) => UvPollHandle | null;

function uvPoll(): UvPollFn | undefined {
  const node = (koffi as unknown as { node?: { poll?: unknown } }).node;
  return typeof node?.poll === 'function' ? (node.poll as UvPollFn) : undefined;
}

export function defaultWatchMode(): WatchMode {
  const forced = process.env['OPENELB_TS_POLL'];
  if (forced === 'async') return 'async-poll';
  return uvPoll() ? 'uv-poll' : 'async-poll';
}

/**
 * Calls onReadable() from the event loop whenever fd is readable. The caller drains the fd
 * (non-blocking reads until EAGAIN) inside onReadable.
 */
export function watchReadable(fd: number, onReadable: () => void, mode: WatchMode = defaultWatchMode()): ReadableWatch {
  return mode === 'uv-poll' ? watchUvPoll(fd, onReadable) : watchAsyncPoll(fd, onReadable);
}

function watchUvPoll(fd: number, onReadable: () => void): ReadableWatch {
  const pollFn = uvPoll();
  if (!pollFn) throw new Error('koffi.node.poll is not available in this koffi build');
  let closed = false;
  const opts = { readable: true };
  let handle: UvPollHandle | null = null;
  const cb: PollCallback = (status) => {
    if (closed) return;
    // A negative status is a libuv error on the fd (e.g. it was closed under us); reading
    // will report the real errno, so still let the owner drain.
    if (status === 0 || status < 0) onReadable();
    // Deno fires once per start(); Node keeps firing, and re-starting there is a needless call.
    if (isDeno && !closed && handle) handle.start(opts, cb);
  };
  handle = pollFn(fd, opts, cb);
  if (!handle) throw new Error(`cannot watch fd ${fd} with koffi.node.poll`);
  return {
    mode: 'uv-poll',
    close() {
      if (closed) return;
      closed = true;
      handle?.close();
      handle = null;
    },
  };
}

function watchAsyncPoll(fd: number, onReadable: () => void): ReadableWatch {
  let closed = false;
  // One pollfd per watcher; it is only touched by one in-flight call at a time.
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  const arm = (): void => {
    view.setInt32(0, fd, true);
    view.setInt16(4, POLLIN, true);
    view.setInt16(6, 0, true);
    poll.async(pfd, 1, POLL_TIMEOUT_MS, (err: unknown, n: number) => {
      if (closed) return;
      if (err) {
        // koffi failed to make the call at all: retry later instead of spinning.
        setTimeout(arm, POLL_TIMEOUT_MS);
        return;
      }
      if (n > 0) onReadable();
      if (!closed) arm();
    });
  };
  arm();
  return {
    mode: 'async-poll',
    close() {
      closed = true;
    },
  };
}
