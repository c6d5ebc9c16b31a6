import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowsNamespace, DEFAULT_PRIORITY, toPool } from '../../../src/ipam/pool.ts';
import { validatePools } from '../../../src/ipam/validate.ts';
import { defaultEip, eip } from './helpers.ts';

test('pool model: empty protocol is bgp, bgp and layer2 are served, vip is not; defaults and annotations', () => {
  const p = toPool(eip('a', '10.0.0.1-10.0.0.5', { protocol: '' }));
  assert.equal(p.protocol, 'bgp');
  assert.equal(p.served, true);
  assert.equal(toPool(eip('b', '10.0.0.1', { protocol: 'bgp' })).served, true);
  const { protocol: _none, ...noProtocol } = eip('c', '10.0.0.1').spec;
  assert.equal(toPool({ name: 'c', spec: noProtocol }).protocol, 'bgp');
  assert.equal(toPool(eip('v', '10.0.0.1', { protocol: 'vip' })).served, false);
  assert.equal(p.priority, DEFAULT_PRIORITY);
  assert.equal(p.isDefault, false);
  assert.equal(toPool(defaultEip('d', '10.0.1.0/24')).isDefault, true);
  assert.equal(toPool(eip('x', '10.0.0.1', {}, { annotations: { 'eip.openelb.kubesphere.io/is-default-eip': 'yes' } })).isDefault, false);
  assert.equal(toPool(eip('l', '10.0.0.1')).served, true);
  assert.equal(toPool(eip('del', '10.0.0.1', {}, { deletionRequested: true })).deletionRequested, true);
});

test('namespaces list and namespaceSelector (plain map or matchLabels); no list = not namespace-allowed', () => {
  const byList = toPool(eip('a', '10.0.0.1', { namespaces: ['team-a'] }));
  assert.equal(allowsNamespace(byList, 'team-a', {}), true);
  assert.equal(allowsNamespace(byList, 'team-b', {}), false);
  const plain = toPool(eip('b', '10.0.0.2', { namespaceSelector: { env: 'prod' } }));
  const ml = toPool(eip('c', '10.0.0.3', { namespaceSelector: { matchLabels: { env: 'prod', tier: 'web' } } }));
  assert.equal(allowsNamespace(plain, 'x', { env: 'prod' }), true);
  assert.equal(allowsNamespace(plain, 'x', { env: 'dev' }), false);
  assert.equal(allowsNamespace(ml, 'x', { env: 'prod' }), false);
  assert.equal(allowsNamespace(ml, 'x', { env: 'prod', tier: 'web', other: '1' }), true);
  const none = toPool(eip('d', '10.0.0.4'));
  assert.equal(allowsNamespace(none, 'default', { env: 'prod' }), false);
});

test('namespaceSelector that is garbage, empty or pruned selects no namespace and says so on the Eip', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /is empty/],
    [{ matchLabels: {} }, /is empty/],
    [{ env: 5 }, /label "env" a value that is not a string/],
    [{ matchLabels: { env: true } }, /label "env"/],
    [{ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, /matchExpressions/],
    [{ matchLabels: { env: 'prod' }, matchExpressions: [] }, /matchExpressions/],
    [{ matchLabels: { env: 'prod' }, tier: 'web' }, /mixes matchLabels with plain labels \(tier\)/],
    [{ matchLabels: 'env=prod' }, /matchLabels that is not a label map/],
    ['env=prod', /is a string, not a label map/],
    [['env'], /is a list/],
  ];
  for (const [sel, why] of cases) {
    const p = toPool(eip('g', '10.0.0.6', { namespaceSelector: sel as Record<string, string> }));
    const labelSets: (Record<string, string> | undefined)[] = [undefined, {}, { env: 'prod' }, { env: '5', tier: 'web' }];
    for (const labels of labelSets) {
      assert.equal(allowsNamespace(p, 'anything', labels), false, `${JSON.stringify(sel)} must select nothing`);
    }
    const v = validatePools([p]).get('g');
    const problem = v?.problems.find((x) => x.reason === 'InvalidNamespaceSelector');
    assert.ok(problem, `${JSON.stringify(sel)}: InvalidNamespaceSelector reported`);
    assert.match(problem.message, why);
    assert.match(problem.message, /^Eip g: spec\.namespaceSelector .*selects no namespace.*namespaceSelector: \{env: prod\}/);
    // Not a block: the pool still serves Services that name it.
    assert.equal(v?.allocatable, true);
  }
  // A valid selector carries no such problem.
  const ok = validatePools([toPool(eip('ok', '10.0.0.7', { namespaceSelector: { env: 'prod' } }))]).get('ok');
  assert.equal(ok?.problems.length, 0);
});

test('overlap: the older Eip wins, the newer is not allocatable and names the older one', () => {
  const older = eip('old', '10.0.0.0/24');
  const newer = eip('new', '10.0.0.200-10.0.1.10');
  const apart = eip('apart', '10.0.2.0/24');
  const v = validatePools([newer, apart, older].map(toPool));
  assert.equal(v.get('old')?.allocatable, true);
  assert.equal(v.get('apart')?.allocatable, true);
  const n = v.get('new');
  assert.equal(n?.allocatable, false);
  assert.equal(n?.problems[0]?.reason, 'Overlap');
  assert.match(n?.problems[0]?.message ?? '', /Eip new \(10\.0\.0\.200-10\.0\.1\.10\) overlaps the older Eip old \(10\.0\.0\.0-10\.0\.0\.255\).*change spec\.address/);
});

test('same creationTimestamp: name breaks the tie', () => {
  const ts = '2024-05-01T00:00:00Z';
  const v = validatePools([toPool(eip('b', '10.0.0.1-10.0.0.9', {}, { creationTimestamp: ts })), toPool(eip('a', '10.0.0.5', {}, { creationTimestamp: ts }))]);
  assert.equal(v.get('a')?.allocatable, true);
  assert.equal(v.get('b')?.problems[0]?.reason, 'Overlap');
});

test('two default Eips: the older stays default, the newer gets MultipleDefaults but stays usable', () => {
  const a = defaultEip('first', '10.0.0.0/28');
  const b = defaultEip('second', '10.0.1.0/28');
  const c = defaultEip('v6default', '2001:db8::/120');
  const v = validatePools([b, c, a].map(toPool));
  assert.equal(v.get('first')?.effectiveDefault, true);
  assert.equal(v.get('second')?.effectiveDefault, false);
  assert.equal(v.get('second')?.allocatable, true);
  assert.equal(v.get('second')?.problems[0]?.reason, 'MultipleDefaults');
  assert.match(v.get('second')?.problems[0]?.message ?? '', /the older Eip first.*first stays the default/);
  assert.equal(v.get('v6default')?.effectiveDefault, true, 'one default per family');
});

test('invalid address, unsupported protocol, disable and deletion block new allocations', () => {
  const v = validatePools(
    [eip('bad', '10.0.0.9-10.0.0.1'), eip('vip', '10.1.0.0/24', { protocol: 'vip' }), eip('bgp', '10.4.0.0/24', { protocol: 'bgp' }), eip('off', '10.2.0.0/24', { disable: true }), eip('gone', '10.3.0.0/24', {}, { deletionRequested: true })].map(toPool),
  );
  assert.deepEqual(v.get('bad')?.problems.map((p) => p.reason), ['InvalidAddress']);
  assert.match(v.get('bad')?.problems[0]?.message ?? '', /^Eip bad: range 10\.0\.0\.9-10\.0\.0\.1 is reversed/);
  assert.deepEqual(v.get('vip')?.problems.map((p) => p.reason), ['UnsupportedProtocol']);
  assert.match(v.get('vip')?.problems[0]?.message ?? '', /^Eip vip has protocol "vip", which openelb-ts does not serve \(it serves layer2 and bgp\): set spec\.protocol: layer2 or bgp/);
  assert.deepEqual(v.get('off')?.problems.map((p) => p.reason), ['Disabled']);
  assert.deepEqual(v.get('gone')?.problems.map((p) => p.reason), ['Deleting']);
  for (const n of ['bad', 'vip', 'off', 'gone']) assert.equal(v.get(n)?.allocatable, false, n);
  assert.deepEqual(v.get('bgp')?.problems, []);
  assert.equal(v.get('bgp')?.allocatable, true);
});
