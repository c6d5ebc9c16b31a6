// The watch stream's framing: one JSON event per line, chunks split anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, parseWatchLine } from '../../../src/kube/rest/watch.ts';
import { ApiError } from '../../../src/kube/rest/api-error.ts';
import { classifyError, describeError } from '../../../src/kube/errors.ts';

test('lines split across chunks are joined; empty lines dropped; the tail is kept until the end', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":'), []);
  assert.deepEqual(s.push('1}\n\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2}\n{"c":3}'), ['{"b":2}']);
  assert.deepEqual(s.end(), ['{"c":3}']);
  assert.deepEqual(s.end(), []);
});

test('every split of a stream gives the same events', () => {
  const events = [
    { type: 'ADDED', object: { metadata: { name: 'ä-1', resourceVersion: '5' } } },
    { type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } },
    { type: 'DELETED', object: { metadata: { name: 'x' } } },
  ];
  const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
  for (let cut = 0; cut <= text.length; cut++) {
    const s = new LineSplitter();
    const lines = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.end()];
    assert.deepEqual(lines.map(parseWatchLine), events, `cut at ${cut}`);
  }
});

test('lines that are not watch events are ignored, not thrown', () => {
  assert.equal(parseWatchLine('not json'), undefined);
  assert.equal(parseWatchLine('[]'), undefined);
  assert.equal(parseWatchLine('{"type":"ADDED"}'), undefined);
  assert.equal(parseWatchLine('{"type":"WHAT","object":{}}'), undefined);
  assert.deepEqual(parseWatchLine('{"type":"ERROR","object":{"code":410}}'), { type: 'ERROR', object: { code: 410 } });
});

test('API errors classify like client-node exceptions did: 409 Conflict vs AlreadyExists, 410, 404', () => {
  const status = (code: number, reason: string) => JSON.stringify({ kind: 'Status', code, reason, message: `${reason} message` });
  assert.equal(classifyError(new ApiError(409, status(409, 'Conflict'), 'PUT /x')), 'conflict');
  assert.equal(classifyError(new ApiError(409, status(409, 'AlreadyExists'), 'POST /x')), 'alreadyExists');
  assert.equal(classifyError(new ApiError(410, status(410, 'Expired'), 'GET /x')), 'gone');
  assert.equal(classifyError(new ApiError(404, '', 'GET /x')), 'notFound');
  assert.equal(describeError(new ApiError(409, status(409, 'Conflict'), 'PUT /x')), 'conflict (HTTP 409): Conflict message');
  assert.equal(new ApiError(500, 'plain text', 'GET /y').message, 'HTTP 500 from GET /y: plain text');
});
