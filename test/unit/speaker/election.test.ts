import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Election,
  type IpClaim,
  type Member,
  type NodeFacts,
  electAll,
  electAnnouncer,
  fnv1a64,
  ownedBy,
  rendezvousScore,
} from '../../../src/speaker/election.ts';

const member = (node: string, cannotServe: Iterable<string> = []): Member => ({ node, cannotServe: new Set(cannotServe) });
const facts = (name: string, o: Partial<NodeFacts> = {}): NodeFacts => ({ name, excluded: false, networkUnavailable: false, ...o });
const nodeMap = (...f: NodeFacts[]) => new Map(f.map((n) => [n.name, n]));
const cluster = (ip: string, eip = 'pool', key = 'default/web'): IpClaim => ({
  ip,
  eip,
  services: [{ key, externalTrafficPolicy: 'Cluster' }],
});
const ips = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

const N3 = ['node-a', 'node-b', 'node-c'];
const nodes3 = nodeMap(...N3.map((n) => facts(n)));
const members3 = N3.map((n) => member(n));

function owners(elections: Map<string, Election>): Map<string, string | undefined> {
  return new Map([...elections].map(([ip, e]) => [ip, e.node]));
}

test('FNV-1a 64 matches the published test vectors', () => {
  assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
});

test('deterministic: the same answer under any permutation of members, nodes and claims', () => {
  const claims = ips(200).map((ip) => cluster(ip));
  const base = owners(electAll(claims, members3, nodes3));
  const permutations = [
    [2, 0, 1],
    [1, 2, 0],
    [2, 1, 0],
  ];
  for (const p of permutations) {
    const m = p.map((i) => members3[i]!);
    const n = nodeMap(...p.map((i) => facts(N3[i]!)));
    const c = [...claims].reverse();
    assert.deepEqual(owners(electAll(c, m, n)), base);
  }
  // electAnnouncer agrees with electAll
  for (const c of claims.slice(0, 20)) assert.equal(electAnnouncer(c, members3, nodes3).node, base.get(c.ip));
  // and the score is a plain function of its inputs
  assert.equal(rendezvousScore('node-a', '10.0.0.1'), rendezvousScore('node-a', '10.0.0.1'));
  assert.notEqual(rendezvousScore('node-a', '10.0.0.1'), rendezvousScore('node-b', '10.0.0.1'));
});

test('spread: 1,000 IPs over 3 nodes give each node 25-42%', () => {
  const e = electAll(ips(1000).map((ip) => cluster(ip)), members3, nodes3);
  for (const n of N3) {
    const share = ownedBy(e, n).length / 1000;
    assert.ok(share >= 0.25 && share <= 0.42, `${n} owns ${share}`);
  }
  // also with realistic similar names and IPv6 addresses
  const names = Array.from({ length: 5 }, (_, i) => `worker-${i + 1}`);
  const v6 = Array.from({ length: 1000 }, (_, i) => `2001:db8::${i.toString(16)}`);
  const e6 = electAll(v6.map((ip) => cluster(ip)), names.map((n) => member(n)), nodeMap(...names.map((n) => facts(n))));
  for (const n of names) {
    const share = ownedBy(e6, n).length / 1000;
    assert.ok(share >= 0.14 && share <= 0.26, `${n} owns ${share}`);
  }
});

test('minimal movement: a leaving node moves only its own IPs; a joining node takes about 1/n', () => {
  const claims = ips(1000).map((ip) => cluster(ip));
  const before = owners(electAll(claims, members3, nodes3));
  const after = owners(electAll(claims, members3.filter((m) => m.node !== 'node-b'), nodes3));
  let moved = 0;
  for (const [ip, owner] of before) {
    if (owner === 'node-b') {
      moved++;
      assert.notEqual(after.get(ip), 'node-b');
      assert.ok(after.get(ip) !== undefined);
    } else {
      assert.equal(after.get(ip), owner, `${ip} moved from ${owner} although ${owner} stayed`);
    }
  }
  assert.ok(moved > 0);

  const nodes4 = nodeMap(...[...N3, 'node-d'].map((n) => facts(n)));
  const joined = owners(electAll(claims, [...members3, member('node-d')], nodes4));
  let taken = 0;
  for (const [ip, owner] of before) {
    const now = joined.get(ip);
    if (now !== owner) {
      assert.equal(now, 'node-d', 'an IP may only move to the joining node');
      taken++;
    }
  }
  assert.ok(taken >= 180 && taken <= 320, `node-d took ${taken} of 1000 (expected ~250)`);
});

test('exclusions: label, NetworkUnavailable, missing Node object, cannotServe', () => {
  const claims = ips(300).map((ip) => cluster(ip));
  const nodes = nodeMap(facts('node-a', { excluded: true }), facts('node-b', { networkUnavailable: true }), facts('node-c'), facts('node-d'));
  const members = [member('node-a'), member('node-b'), member('node-c', ['pool']), member('node-d'), member('node-e') /* no Node */];
  const e = electAll(claims, members, nodes);
  for (const el of e.values()) assert.equal(el.node, 'node-d');

  // node-c serves another pool fine
  const other = electAll(ips(100).map((ip) => cluster(ip, 'other')), members, nodes);
  assert.ok(ownedBy(other, 'node-c').length > 0 && ownedBy(other, 'node-d').length > 0);
  assert.equal(ownedBy(other, 'node-a').length + ownedBy(other, 'node-b').length + ownedBy(other, 'node-e').length, 0);
});

test('Local policy follows readyNodes, and moves when the endpoints move', () => {
  const local = (ip: string, ready: string[]): IpClaim => ({
    ip,
    eip: 'pool',
    services: [{ key: 'default/web', externalTrafficPolicy: 'Local', readyNodes: new Set(ready) }],
  });
  for (const ip of ips(50)) {
    assert.equal(electAnnouncer(local(ip, ['node-b']), members3, nodes3).node, 'node-b');
    assert.equal(electAnnouncer(local(ip, ['node-c', 'node-x']), members3, nodes3).node, 'node-c');
    const two = electAnnouncer(local(ip, ['node-a', 'node-c']), members3, nodes3).node;
    assert.ok(two === 'node-a' || two === 'node-c');
  }
  // endpoints on an excluded node only → nobody, and the reason says where the endpoints are
  const nodes = nodeMap(facts('node-a'), facts('node-b', { excluded: true }), facts('node-c'));
  const e = electAnnouncer(local('10.9.9.9', ['node-b', 'node-z']), members3, nodes);
  assert.equal(e.node, undefined);
  assert.ok('reason' in e);
  assert.match(e.reason, /no ready endpoint of default\/web on a node with a running speaker/);
  assert.match(e.reason, /externalTrafficPolicy: Local/);
  assert.match(e.reason, /node-b \(label node\.kubernetes\.io\/exclude-from-external-load-balancers\)/);
  assert.match(e.reason, /node-z \(no running speaker\)/);
  // no endpoints at all (readyNodes absent)
  const empty = electAnnouncer({ ip: '10.9.9.8', eip: 'pool', services: [{ key: 'ns/x', externalTrafficPolicy: 'Local' }] }, members3, nodes3);
  assert.equal(empty.node, undefined);
  assert.ok('reason' in empty && /no ready endpoint at all/.test(empty.reason));
});

test('shared IP: all Services on one node; a Local one among them narrows to the intersection', () => {
  const shared: IpClaim = {
    ip: '10.1.1.1',
    eip: 'pool',
    services: [
      { key: 'default/a', externalTrafficPolicy: 'Cluster' },
      { key: 'default/b', externalTrafficPolicy: 'Cluster' },
    ],
  };
  const e = electAll([shared], members3, nodes3);
  assert.equal(e.size, 1);
  // two claims for one IP are merged into one election
  const split = electAll(
    [cluster('10.1.1.1', 'pool', 'default/a'), cluster('10.1.1.1', 'pool', 'default/b')],
    members3,
    nodes3,
  );
  assert.equal(split.size, 1);
  assert.equal(split.get('10.1.1.1')?.node, e.get('10.1.1.1')?.node);

  const mixed: IpClaim = {
    ip: '10.1.1.2',
    eip: 'pool',
    services: [
      { key: 'default/a', externalTrafficPolicy: 'Local', readyNodes: new Set(['node-a', 'node-b']) },
      { key: 'default/b', externalTrafficPolicy: 'Local', readyNodes: new Set(['node-b', 'node-c']) },
      { key: 'default/c', externalTrafficPolicy: 'Cluster' },
    ],
  };
  assert.equal(electAnnouncer(mixed, members3, nodes3).node, 'node-b');
  const disjoint: IpClaim = {
    ip: '10.1.1.3',
    eip: 'pool',
    services: [
      { key: 'default/a', externalTrafficPolicy: 'Local', readyNodes: new Set(['node-a']) },
      { key: 'default/b', externalTrafficPolicy: 'Local', readyNodes: new Set(['node-c']) },
    ],
  };
  const d = electAnnouncer(disjoint, members3, nodes3);
  assert.ok(d.node === undefined && /every Local Service sharing this IP \(default\/a, default\/b\)/.test(d.reason));
});

test('no candidate: the reason tells the user why', () => {
  const c = cluster('10.2.2.2');
  const noMembers = electAnnouncer(c, [], nodes3);
  assert.ok(noMembers.node === undefined && /no speaker is alive/.test(noMembers.reason));

  const nodes = nodeMap(facts('node-a', { excluded: true }), facts('node-b', { networkUnavailable: true }), facts('node-c'));
  const all = electAnnouncer(c, [member('node-a'), member('node-b'), member('node-c', ['pool'])], nodes);
  assert.ok(all.node === undefined);
  assert.equal(
    all.reason,
    'all 3 speakers are ruled out: node-a (label node.kubernetes.io/exclude-from-external-load-balancers), ' +
      'node-b (NetworkUnavailable=True), node-c (no usable NIC for Eip pool)',
  );
  const one = electAnnouncer(c, [member('gone')], nodes);
  assert.ok(one.node === undefined && one.reason === 'the only speaker is ruled out: gone (no Node object)');
  // a duplicate member entry merges cannotServe (conservative), in any order
  const dup1 = electAnnouncer(c, [member('node-c'), member('node-c', ['pool'])], nodes);
  const dup2 = electAnnouncer(c, [member('node-c', ['pool']), member('node-c')], nodes);
  assert.equal(dup1.node, undefined);
  assert.deepEqual(dup1, dup2);
});

test('electAll is fast enough for 1,000 Services on 100 nodes', () => {
  const names = Array.from({ length: 100 }, (_, i) => `node-${i}`);
  const t0 = performance.now();
  const e = electAll(ips(1000).map((ip) => cluster(ip)), names.map((n) => member(n)), nodeMap(...names.map((n) => facts(n))));
  const ms = performance.now() - t0;
  assert.equal(e.size, 1000);
  assert.ok(ms < 2000, `took ${ms} ms`);
});
