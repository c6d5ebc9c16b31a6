import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeClaim, outranks, yieldsInForce, type Yield } from '../../../src/speaker/wire-conflict.ts';
import { electAnnouncer } from '../../../src/speaker/election.ts';

const nodes = new Map(['a', 'b', 'c'].map((n) => [n, { name: n, excluded: false, networkUnavailable: false }]));

test('both sides of a disagreement reach opposite verdicts: exactly one keeps each IP, and it is the election\'s choice', () => {
  for (let i = 0; i < 200; i++) {
    const ip = `192.0.2.${i}`;
    const ab = judgeClaim(ip, 'a', 'b');
    const ba = judgeClaim(ip, 'b', 'a');
    assert.notEqual(ab.action, ba.action, ip);
    assert.ok(['keep', 'yield'].includes(ab.action) && ['keep', 'yield'].includes(ba.action));
    const keeper = ab.action === 'keep' ? 'a' : 'b';
    const e = electAnnouncer({ ip, eip: 'p', services: [{ key: 'ns/s', externalTrafficPolicy: 'Cluster' }] }, [
      { node: 'a', cannotServe: new Set() },
      { node: 'b', cannotServe: new Set() },
    ], nodes);
    assert.equal(e.node, keeper, `${ip}: the keeper is the node the election ranks higher`);
    assert.equal(outranks(keeper, keeper === 'a' ? 'b' : 'a', ip), true);
  }
});

test('a claim from a MAC that maps to no speaker (or to ourselves) is foreign', () => {
  assert.deepEqual(judgeClaim('192.0.2.1', 'a', undefined), { action: 'foreign' });
  assert.deepEqual(judgeClaim('192.0.2.1', 'a', 'a'), { action: 'foreign' });
});

test('a yield ends when the winner leaves the roster or our own view sees it alive for the pool; not before', () => {
  const yields = new Map<string, Yield>([
    ['192.0.2.1', { to: 'b', pool: 'p1' }],
    ['192.0.2.2', { to: 'c', pool: 'p1' }],
    ['192.0.2.3', { to: 'b', pool: 'p2' }],
  ]);
  const alive = new Map([
    ['p1', new Set(['a'])],
    ['p2', new Set(['a', 'b'])],
  ]);
  const r = yieldsInForce(yields, new Set(['a', 'b']), (p) => alive.get(p));
  assert.deepEqual([...r.keys()], ['192.0.2.1'], 'c left the roster; b is alive to us for p2');
});
