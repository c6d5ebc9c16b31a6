// Exit code, text and JSON rendering, CAP_NET_RAW and API verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cannotTell, failed, passed } from '../../../src/doctor/result.ts';
import { exitCodeOf, formatJson, formatText, summarize } from '../../../src/doctor/report.ts';
import { checkNetRaw } from '../../../src/doctor/capability.ts';
import { checkApi, checkEips } from '../../../src/doctor/api.ts';

test('exit 1 only when a problem was found; unknown alone exits 0', () => {
  assert.equal(exitCodeOf([passed('a', 'x'), cannotTell('b', 'y')]), 0);
  assert.equal(exitCodeOf([passed('a', 'x'), failed('c', 'broken', 'mend it')]), 1);
  assert.equal(exitCodeOf([]), 0);
});

test('text output shows status, check, problem and fix; JSON round-trips', () => {
  const r = summarize('worker-p001', [passed('api', 'answered'), failed('nic e', 'NIC eth9 does not exist', 'fix spec.interface'), cannotTell('kube-proxy', 'no ConfigMap')]);
  const text = formatText(r);
  assert.match(text, /^openelb-ts doctor on node worker-p001$/m);
  assert.match(text, /^ {2}ok {7}api/m);
  assert.match(text, /^ {2}PROBLEM {2}nic e +NIC eth9 does not exist$/m);
  assert.match(text, /^ +fix: fix spec\.interface$/m);
  assert.match(text, /^ {2}\? {8}kube-proxy/m);
  assert.match(text, /1 problem, 1 ok, 1 cannot tell \(exit 1\)/);
  const json = JSON.parse(formatJson(r));
  assert.equal(json.problems, 1);
  assert.equal(json.checks[1].ok, false);
  assert.equal(json.checks[1].fix, 'fix spec.interface');
});

test('CAP_NET_RAW: missing is a problem with the capability fix; FFI failing to load too', () => {
  assert.equal(checkNetRaw({ loaded: true, hasNetRaw: true }).status, 'ok');
  const no = checkNetRaw({ loaded: true, hasNetRaw: false, uid: 1000 });
  assert.equal(no.status, 'problem');
  assert.match(no.problem!, /uid 1000/);
  assert.match(no.fix!, /capabilities\.add: \[NET_RAW\]/);
  assert.equal(checkNetRaw({ loaded: false, error: 'libc.so.6: cannot open' }).status, 'problem');
});

test('API verdicts: reached, unreachable, 401, no credentials with and without --address', () => {
  assert.equal(checkApi({ kind: 'reached', server: 'https://x', source: 'flag f' }).status, 'ok');
  const down = checkApi({ kind: 'failed', server: 'https://127.0.0.1:1', source: 'flag f', error: 'network', message: 'ECONNREFUSED' });
  assert.equal(down.status, 'problem');
  assert.match(down.problem!, /unreachable: ECONNREFUSED/);
  assert.match(down.fix!, /fail-static/);
  assert.match(checkApi({ kind: 'failed', server: 's', source: 'f', error: 'unauthorized', message: 'm' }).problem!, /401/);
  assert.equal(checkApi({ kind: 'no-credentials', message: 'none', standalone: true }).status, 'unknown');
  assert.equal(checkApi({ kind: 'no-credentials', message: 'none', standalone: false }).status, 'problem');
  assert.equal(checkApi({ kind: 'offline' }).status, 'unknown');
});

test('Eip list verdicts: CRD missing, RBAC, none layer2', () => {
  assert.equal(checkEips({ kind: 'skipped' }), undefined);
  assert.match(checkEips({ kind: 'failed', error: 'notFound', message: '' })!.fix!, /kubectl apply -f deploy\/openelb\.yaml/);
  assert.equal(checkEips({ kind: 'failed', error: 'forbidden', message: '' })!.status, 'problem');
  assert.equal(checkEips({ kind: 'listed', total: 2, layer2: 0 })!.status, 'unknown');
  assert.equal(checkEips({ kind: 'listed', total: 2, layer2: 1 })!.status, 'ok');
});
