// Node vs Deno differences, in one place. Both load koffi through npm; the difference that
// matters is how a file descriptor's readiness reaches the JS event loop.
//
// Measured (koffi 3.3.4, Node 20.20, Deno 2.9.6):
// - koffi.node.poll(fd, {readable:true}, cb) wraps a libuv uv_poll_t. On Node it is
//   level-triggered and keeps firing while the fd is readable. On Deno (its libuv shim) it fires
//   once per start(): the handle must be re-armed with start() inside every callback.
//   An active handle keeps the process alive on both; close() releases it.
// - On Deno the shim is also unsafe to close: its uv_close runs koffi's close callback at once,
//   which frees the uv_poll_t, while a readiness event already on its way to the main thread
//   still carries that pointer. koffi's callback then reads freed memory and the process dies
//   with SIGSEGV (koffi.node OnPoll) as soon as the memory has been reused. A speaker closes
//   sockets on SIGTERM, NIC changes and beacon restarts, so Deno crashed there now and then
//   (test/netns/packet-socket.test.ts has the reproduction). Deno therefore uses the fallback
//   below by default; OPENELB_TS_POLL=uv forces the poll handle (tests, benchmarks).
// - The callback is called as (status: number, events: {readable, writable, disconnect}),
//   not (events) as koffi's index.d.ts says.
// - Fallback (Deno's default, OPENELB_TS_POLL=async, or when koffi.node.poll is missing): libc
//   poll() with a short timeout through koffi's .async() (one worker thread per watcher while
//   waiting: libuv's pool of 4 on Node, Deno's blocking pool), then a synchronous drain on the
//   main thread. Same wake-up latency; close() only sets a flag, and the call in flight ends
//   within POLL_TIMEOUT_MS (its pollfd is ours, so nothing is freed under it).
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
  if (!uvPoll()) return 'async-poll';
  if (forced === 'uv') return 'uv-poll';
  return isDeno ? 'async-poll' : 'uv-poll';
}

/**
 * Calls onReadable() from the event loop whenever fd is readable. The caller drains the fd
 * (non-blocking reads until EAGAIN) inside onReadable.
 */
export function watchReadable(fd: number, onReadable: () => void, mode: WatchMode = defaultWatchMode()): ReadableWatch {
  return mode === 'uv-poll' ? watchUvPoll(fd, onReadable) : watchAsyncPoll(fd, onReadable);
}

/**
 * Delay before re-starting a poll handle after its `streak`-th error callback in a row: the first
 * restart is immediate (a link flap gives one ENETDOWN, then the socket works again); errors that
 * keep coming back are retried at 50 ms, 100 ms, ... up to 2 s, so a broken fd cannot spin the loop.
 */
export function pollErrorBackoffMs(streak: number): number {
  if (streak <= 1) return 0;
  return Math.min(POLL_ERROR_BACKOFF_MAX_MS, POLL_ERROR_BACKOFF_MIN_MS * 2 ** Math.min(streak - 2, 16));
}
const POLL_ERROR_BACKOFF_MIN_MS = 50;
const POLL_ERROR_BACKOFF_MAX_MS = 2000;

function watchUvPoll(fd: number, onReadable: () => void): ReadableWatch {
  const pollFn = uvPoll();
  if (!pollFn) throw new Error('koffi.node.poll is not available in this koffi build');
  let closed = false;
  const opts = { readable: true };
  let handle: UvPollHandle | null = null;
  let errorStreak = 0;
  let restartTimer: ReturnType<typeof setTimeout> | null = null;
  const start = (): void => {
    restartTimer = null;
    if (closed || !handle) return;
    try {
      handle.start(opts, cb);
    } catch {
      // start() refused (uv_poll_start failed): try again later rather than stay deaf.
      errorStreak++;
      restartTimer = setTimeout(start, Math.max(POLL_ERROR_BACKOFF_MIN_MS, pollErrorBackoffMs(errorStreak)));
    }
  };
  const cb: PollCallback = (status) => {
    if (closed) return;
    // Drain on errors too: the read consumes the socket's pending error (e.g. ENETDOWN), so the
    // restarted handle does not report the same error again.
    onReadable();
    if (closed) return;
    if (status < 0) {
      // libuv stops a poll handle for good when the fd reports an error (POLLERR: an AF_PACKET
      // socket gets ENETDOWN when its link goes down). The socket works again once the link is
      // back, so restart the handle, immediately the first time and with a backoff after that.
      errorStreak++;
      const delay = pollErrorBackoffMs(errorStreak);
      if (delay === 0) start();
      else if (restartTimer === null) restartTimer = setTimeout(start, delay);
      return;
    }
    errorStreak = 0;
    // Deno fires once per start(); Node keeps firing, and re-starting there is a needless call.
    if (isDeno && handle) handle.start(opts, cb);
  };
  handle = pollFn(fd, opts, cb);
  if (!handle) throw new Error(`cannot watch fd ${fd} with koffi.node.poll`);
  return {
    mode: 'uv-poll',
    close() {
      if (closed) return;
      closed = true;
      if (restartTimer !== null) clearTimeout(restartTimer);
      restartTimer = null;
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
