// ElectionMemo gives exactly electAll()'s answer round after round while claims, members and nodes
// change in every way a reconcile loop sees (seeded random walk).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IpClaim, type Member, type NodeFacts, electAll } from '../../../src/speaker/election.ts';
import { ElectionMemo } from '../../../src/speaker/election-memo.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('ElectionMemo equals electAll over 300 random rounds (claims, endpoints, members, node facts change)', () => {
  const r = rng(42);
  const nodeNames = ['n1', 'n2', 'n3', 'n4'];
  const memo = new ElectionMemo();
  let claims: IpClaim[] = [];
  let members: Member[] = nodeNames.map((n) => ({ node: n, cannotServe: new Set<string>() }));
  let nodes = new Map<string, NodeFacts>(nodeNames.map((n) => [n, { name: n, excluded: false, networkUnavailable: false }]));
  for (let round = 0; round < 300; round++) {
    const what = r();
    if (what < 0.3 || claims.length === 0) {
      const ip = `10.0.0.${Math.floor(r() * 40)}`;
      const local = r() < 0.4;
      claims.push({
        ip,
        eip: r() < 0.8 ? 'p1' : 'p2',
        services: [{ key: `ns/s${round}`, externalTrafficPolicy: local ? 'Local' : 'Cluster', ...(local ? { readyNodes: new Set(nodeNames.filter(() => r() < 0.4)) } : {}) }],
      });
    } else if (what < 0.45) {
      claims.splice(Math.floor(r() * claims.length), 1);
    } else if (what < 0.6) {
      const i = Math.floor(r() * claims.length);
      const c = claims[i]!;
      claims = claims.map((x, j) => (j === i ? { ...c, services: c.services.map((s) => ({ ...s, externalTrafficPolicy: 'Local' as const, readyNodes: new Set(nodeNames.filter(() => r() < 0.5)) })) } : x));
    } else if (what < 0.75) {
      members = nodeNames.filter(() => r() < 0.8).map((n) => ({ node: n, cannotServe: new Set(r() < 0.2 ? ['p2'] : []) }));
    } else if (what < 0.85) {
      nodes = new Map(nodeNames.map((n) => [n, { name: n, excluded: r() < 0.15, networkUnavailable: r() < 0.1 }]));
    }
    const got = memo.elect(claims, members, nodes);
    const want = electAll(claims, members, nodes);
    assert.deepEqual([...got], [...want], `round ${round}`);
  }
});
