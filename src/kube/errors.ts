// Telling API failures apart. Callers decide differently on each kind: a 409 on a Lease means
// "you lost", a 404 means "create it", a 410 means "relist", and a network error or timeout
// means "the API is away, keep what you have" (fail-static). client-node 2.0 raises three
// shapes, which is why this is not a one-line `instanceof`:
//   - ApiException from the typed clients: `code` (HTTP status) and `body` (the response text,
//     usually a JSON metav1.Status, sometimes already parsed);
//   - Watch/ListWatch errors: a plain Error with `statusCode`;
//   - undici's fetch: `TypeError('fetch failed')` with the socket error in `cause`
//     (ECONNREFUSED, ECONNRESET, ...), or the AbortSignal's reason (TimeoutError/AbortError).

import { parseObject } from './rest/json.ts';

export type ApiErrorKind =
  | 'conflict' // 409 Conflict: stale resourceVersion
  | 'alreadyExists' // 409 AlreadyExists: create of an existing name
  | 'notFound' // 404
  | 'gone' // 410: resourceVersion too old, relist
  | 'invalid' // 400/422: our request is wrong (a bug or bad input)
  | 'unauthorized' // 401
  | 'forbidden' // 403: RBAC
  | 'throttled' // 429
  | 'server' // 5xx
  | 'timeout' // our own deadline fired
  | 'network' // no HTTP answer at all: refused, reset, DNS, TLS
  | 'other';

/** HTTP status carried by an error from client-node, if any. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  // ApiException.code is the HTTP status; Node system errors use string codes ('ECONNRESET').
  if (typeof e.code === 'number' && e.code >= 100 && e.code < 600) return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The metav1.Status the API server sent with an error, when it sent one. */
export function statusBodyOf(err: unknown): { reason?: string; message?: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const body = (err as { body?: unknown }).body;
  const parsed = typeof body === 'string' ? parseObject(body) : body;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const s = parsed as { reason?: unknown; message?: unknown };
  return {
    ...(typeof s.reason === 'string' ? { reason: s.reason } : {}),
    ...(typeof s.message === 'string' ? { message: s.message } : {}),
  };
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 5 && typeof cur === 'object' && cur !== null; i++) {
    out.push(cur);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

export function classifyError(err: unknown): ApiErrorKind {
  const status = statusCodeOf(err);
  if (status !== undefined) {
    if (status === 409) return statusBodyOf(err)?.reason === 'AlreadyExists' ? 'alreadyExists' : 'conflict';
    if (status === 404) return 'notFound';
    if (status === 410) return 'gone';
    if (status === 400 || status === 422) return 'invalid';
    if (status === 401) return 'unauthorized';
    if (status === 403) return 'forbidden';
    if (status === 429) return 'throttled';
    if (status >= 500) return 'server';
    return 'other';
  }
  for (const e of chain(err)) {
    const x = e as { name?: unknown; code?: unknown; message?: unknown };
    if (x.name === 'TimeoutError') return 'timeout';
    if (typeof x.code === 'string' && networkCodes.has(x.code)) return 'network';
  }
  for (const e of chain(err)) {
    const x = e as { name?: unknown; message?: unknown };
    // undici wraps every transport failure as TypeError('fetch failed'); a body cut mid-stream
    // surfaces as 'terminated' or 'other side closed'.
    if (typeof x.message === 'string' && /fetch failed|terminated|other side closed|socket hang up/i.test(x.message)) {
      return 'network';
    }
    if (x.name === 'AbortError') return 'timeout';
  }
  return 'other';
}

export const isConflict = (err: unknown): boolean => classifyError(err) === 'conflict';
export const isAlreadyExists = (err: unknown): boolean => classifyError(err) === 'alreadyExists';
export const isNotFound = (err: unknown): boolean => classifyError(err) === 'notFound';
export const isGone = (err: unknown): boolean => classifyError(err) === 'gone';
/** The API could not be reached or did not answer in time: keep state, retry later. */
export const isUnreachable = (err: unknown): boolean => {
  const k = classifyError(err);
  return k === 'network' || k === 'timeout';
};

/** A short, log-friendly description (ApiException's message embeds all headers). */
export function describeError(err: unknown): string {
  const kind = classifyError(err);
  const status = statusCodeOf(err);
  const body = statusBodyOf(err);
  if (status !== undefined) return `${kind} (HTTP ${status})${body?.message ? `: ${body.message}` : ''}`;
  const parts: string[] = [];
  for (const e of chain(err)) {
    const x = e as { code?: unknown; message?: unknown };
    if (typeof x.message === 'string' && x.message) parts.push(typeof x.code === 'string' ? `${x.message} [${x.code}]` : x.message);
  }
  return `${kind}: ${parts.join(': ') || String(err)}`;
}
