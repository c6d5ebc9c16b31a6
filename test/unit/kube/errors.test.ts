import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import {
  classifyError,
  describeError,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isUnreachable,
  statusBodyOf,
} from '../../../src/kube/errors.ts';

const status = (code: number, reason: string, message = 'm') =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

test('ApiException status codes map to kinds', () => {
  const conflict = new ApiException(409, 'Unknown API Status Code!', status(409, 'Conflict', 'the object has been modified'), {});
  assert.equal(classifyError(conflict), 'conflict');
  assert.ok(isConflict(conflict));
  assert.ok(!isAlreadyExists(conflict));
  const exists = new ApiException(409, 'x', status(409, 'AlreadyExists'), {});
  assert.equal(classifyError(exists), 'alreadyExists');
  assert.ok(isAlreadyExists(exists) && !isConflict(exists));
  assert.ok(isNotFound(new ApiException(404, 'x', status(404, 'NotFound'), {})));
  assert.ok(isGone(new ApiException(410, 'x', status(410, 'Expired'), {})));
  assert.equal(classifyError(new ApiException(401, 'Unauthorized', undefined, {})), 'unauthorized');
  assert.equal(classifyError(new ApiException(403, 'x', status(403, 'Forbidden'), {})), 'forbidden');
  assert.equal(classifyError(new ApiException(422, 'x', status(422, 'Invalid'), {})), 'invalid');
  assert.equal(classifyError(new ApiException(400, 'x', status(400, 'BadRequest'), {})), 'invalid');
  assert.equal(classifyError(new ApiException(429, 'x', '', {})), 'throttled');
  assert.equal(classifyError(new ApiException(503, 'x', '', {})), 'server');
});

test('Watch errors carry statusCode instead of code', () => {
  const e = Object.assign(new Error('Gone'), { statusCode: 410 });
  assert.equal(classifyError(e), 'gone');
});

test('undici transport failures are network errors, whatever the wrapping', () => {
  const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
  assert.equal(classifyError(refused), 'network');
  assert.ok(isUnreachable(refused));
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  assert.equal(classifyError(reset), 'network');
  const socket = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
  assert.equal(classifyError(socket), 'network');
  // A system error code must not be mistaken for an HTTP status.
  assert.equal(classifyError(Object.assign(new Error('x'), { code: 'EPIPE' })), 'network');
});

test('our own deadlines are timeouts', () => {
  const t = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  assert.equal(classifyError(t), 'timeout');
  assert.ok(isUnreachable(t));
  assert.equal(classifyError(new DOMException('aborted', 'AbortError')), 'timeout');
});

test('unknown errors are other, and never unreachable', () => {
  assert.equal(classifyError(new Error('boom')), 'other');
  assert.equal(classifyError(undefined), 'other');
  assert.equal(classifyError('string'), 'other');
  assert.ok(!isUnreachable(new Error('boom')));
});

test('status body is parsed from text or object; describeError is short', () => {
  const e = new ApiException(409, 'x', status(409, 'Conflict', 'the object has been modified'), { 'a-very-long': 'header' });
  assert.deepEqual(statusBodyOf(e), { reason: 'Conflict', message: 'the object has been modified' });
  assert.deepEqual(statusBodyOf({ body: { reason: 'NotFound' } }), { reason: 'NotFound' });
  assert.equal(statusBodyOf({ body: 'not json' }), undefined);
  assert.equal(describeError(e), 'conflict (HTTP 409): the object has been modified');
  const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.equal(describeError(refused), 'network: fetch failed: connect ECONNREFUSED [ECONNREFUSED]');
});
