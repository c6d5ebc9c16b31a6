// One watch stream: GET ...?watch=1 answers with one JSON event per line for as long as the
// server keeps it open. This resolves when the server ends the stream, and rejects on a broken
// connection or when nothing (not even a bookmark) arrived for `inactivityMs`: a half-open TCP
// connection (peer gone without RST) would otherwise leave us deaf forever. The caller (the
// informer) decides what to do next: resume from its resourceVersion, relist, or back off.
import { parseObject } from './json.ts';
import type { Transport } from './transport.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: Record<string, unknown>;
}

/** Splits a stream of text into lines; keeps the incomplete tail for the next chunk. Pure. */
export class LineSplitter {
  private tail = '';

  /** The complete lines in `chunk` (with what was left over before it). */
  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const lines = text.split('\n');
    this.tail = lines.pop() ?? '';
    return lines.filter((l) => l.trim() !== '');
  }

  /** What is left when the stream ends (a last line without newline). */
  end(): string[] {
    const t = this.tail;
    this.tail = '';
    return t.trim() ? [t] : [];
  }
}

/** Parses one line of a watch stream; undefined when it is not a watch event. Pure. */
export function parseWatchLine(line: string): WatchEvent | undefined {
  const e = parseObject(line) as { type?: unknown; object?: unknown } | undefined;
  if (!e) return undefined;
  if (typeof e.type !== 'string' || typeof e.object !== 'object' || e.object === null) return undefined;
  if (!['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'].includes(e.type)) return undefined;
  return { type: e.type as WatchEventType, object: e.object as Record<string, unknown> };
}

export interface WatchOptions {
  /** Stop the watch (resolves the promise). */
  signal: AbortSignal;
  /** Reject with a TimeoutError when no bytes arrived for this long (also bounds connecting). */
  inactivityMs: number;
  /** Called once the server accepted the watch (HTTP 200). */
  onOpen?: () => void;
}

/** Watch `path` (which carries watch=1 and its query); `onEvent` gets each event in order. */
export async function watch(t: Transport, path: string, onEvent: (e: WatchEvent) => void, o: WatchOptions): Promise<void> {
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(
      () => idle.abort(new DOMException(`watch quiet for ${o.inactivityMs} ms`, 'TimeoutError')),
      o.inactivityMs,
    );
  };
  arm();
  const signal = AbortSignal.any([o.signal, idle.signal]);
  try {
    const { res, done } = await t.open({ method: 'GET', path, signal }, false);
    o.onOpen?.();
    arm();
    await new Promise<void>((resolve, reject) => {
      const lines = new LineSplitter();
      const deliver = (ls: string[]) => {
        for (const l of ls) {
          const e = parseWatchLine(l);
          if (e) onEvent(e);
        }
      };
      let stopped = false;
      const stop = (err?: unknown) => {
        if (stopped) return;
        stopped = true;
        signal.removeEventListener('abort', onAbort);
        done();
        if (err === undefined || o.signal.aborted) resolve();
        else reject(signal.aborted ? signal.reason : err);
      };
      // stop() before destroy(): destroying emits 'aborted' at once, which must not be taken for
      // the reason (a 410 would read as a cut connection and be retried instead of relisting).
      const onAbort = () => {
        stop(signal.reason ?? new Error('aborted'));
        res.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        arm();
        try {
          deliver(lines.push(chunk));
        } catch (err) {
          stop(err);
          res.destroy();
        }
      });
      res.on('end', () => {
        deliver(lines.end());
        stop();
      });
      res.on('error', (err) => stop(err));
      res.on('aborted', () => stop(Object.assign(new Error('watch stream cut'), { code: 'ECONNRESET' })));
    });
  } catch (err) {
    if (o.signal.aborted) return;
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
