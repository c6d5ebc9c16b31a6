// Membership Leases on a real kube-apiserver, as the speaker's ServiceAccount, with short
// timings (duration 1 s, renew every 200 ms). Node names are unique per run, so Leases other
// test files leave in openelb-system do not matter: assertions look at our nodes only.
import { TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { CANNOT_SERVE_ANNOTATION, MEMBERSHIP_SELECTOR, Membership, membershipLeaseName } from '../../src/kube/membership.ts';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';
import { TcpProxy, serverAddress, viaProxy } from '../../scripts/kit/tcp-proxy.ts';

const cp = await controlPlane();
after(() => cp.stop());
const NS = 'openelb-system';
const timings = { leaseDurationMs: 1000, retryPeriodMs: 200 };

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

const ours = (m: Membership, nodes: string[]) => nodes.filter((n) => m.isAlive(n)).sort();

test('membership: all alive; facts reach peers; fail-static while blind; a crash is seen after the duration; a release at once', async (t) => {
  const speakerKc = cp.speakerConfig();
  const { host, port } = serverAddress(speakerKc);
  const proxy = await TcpProxy.start(host, port);
  t.after(() => proxy.close());
  const direct = new TypedKubeClient(speakerKc);
  const proxied = new TypedKubeClient(viaProxy(speakerKc, proxy), { requestTimeoutMs: 2000 });

  const id = uniqueName('n');
  const [na, nb, nc] = [`${id}-a`, `${id}-b`, `${id}-c`] as const;
  const nodes = [na, nb, nc];
  // a reaches the API through the proxy (its own renewals and its watch); b and c directly.
  const a = new Membership({ client: proxied, namespace: NS, nodeName: na, ...timings });
  const b = new Membership({ client: direct, namespace: NS, nodeName: nb, ...timings });
  const c = new Membership({ client: direct, namespace: NS, nodeName: nc, ...timings });
  t.after(() => Promise.all([a.abandon(), b.abandon(), c.abandon()]));
  let aChanges = 0;
  a.onChange(() => aChanges++);
  for (const m of [a, b, c]) m.start();
  await Promise.all([a, b, c].map((m) => m.whenReady(AbortSignal.timeout(10_000))));
  for (const m of [a, b, c]) await waitFor(() => ours(m, nodes).length === 3, 3000, 'everyone sees all three');
  assert.ok(aChanges >= 1, 'onChange fired as members appeared');
  assert.equal(a.renewing, true);

  // The Lease carries the label peers select on and holder = node name.
  const lease = await direct.coordination.readNamespacedLease({ namespace: NS, name: membershipLeaseName(na) });
  assert.equal(lease.spec?.holderIdentity, na);
  assert.equal(`app.kubernetes.io/component=${lease.metadata?.labels?.['app.kubernetes.io/component']}`, MEMBERSHIP_SELECTOR);

  // Facts: b says which Eips it cannot serve; a and c learn it, and onChange fires.
  const before = aChanges;
  b.setCannotServe(['eip-y', 'eip-x']);
  await waitFor(() => a.cannotServe(nb).has('eip-x') && c.cannotServe(nb).has('eip-y'), 2000, 'facts reach peers');
  assert.deepEqual([...a.cannotServe(nb)].sort(), ['eip-x', 'eip-y']);
  assert.equal(a.annotationsOf(nb)?.[CANNOT_SERVE_ANNOTATION], 'eip-x,eip-y');
  await waitFor(() => aChanges > before, 1000, 'onChange on a fact change');
  // Steady state: one write per member per period, nothing else. Count b's renewals over 1 s.
  const rv0 = Number((await direct.coordination.readNamespacedLease({ namespace: NS, name: membershipLeaseName(nb) })).metadata?.resourceVersion);
  await new Promise((r) => setTimeout(r, 1000));
  const bLease = await direct.coordination.readNamespacedLease({ namespace: NS, name: membershipLeaseName(nb) });
  assert.equal(bLease.metadata?.annotations?.[CANNOT_SERVE_ANNOTATION], 'eip-x,eip-y', 'fact persists across renewals');
  b.setCannotServe(['eip-x', 'eip-y']); // same set again: no extra write
  b.setCannotServe([]); // cleared: written once, annotation removed
  await waitFor(() => a.cannotServe(nb).size === 0, 2000, 'cleared fact reaches peers');
  assert.ok(Number(bLease.metadata?.resourceVersion) > rv0, 'b renewed');

  // Fail-static: a loses the API (its watch and its renewals). Its view freezes instead of
  // declaring b and c dead; b and c, who can see, notice a is gone after the duration.
  proxy.pause();
  const blindFrom = performance.now();
  let minSeenByA = 3;
  while (performance.now() - blindFrom < 2500) {
    minSeenByA = Math.min(minSeenByA, ours(a, nodes).length);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(minSeenByA, 3, 'a kept its whole view while it could not see');
  assert.deepEqual(ours(b, nodes), [nb, nc], 'b saw a expire');
  assert.deepEqual(ours(c, nodes), [nb, nc], 'c saw a expire');
  assert.equal(a.renewing, false);
  proxy.resume();
  await waitFor(() => ours(b, nodes).length === 3 && ours(c, nodes).length === 3, 5000, 'a back for b and c');
  await new Promise((r) => setTimeout(r, 1500)); // more than a duration after recovery
  assert.equal(ours(a, nodes).length, 3, 'no one flapped dead in a\'s view after recovery');

  // a's watch may still be reconnecting after the outage (its backoff stretches under load); while
  // it does, a is blind and rightly judges no one, so the crash clock starts once a hears c again
  // (a full run once measured 2.7 s here from that, not from the judging).
  c.setCannotServe(['probe']);
  await waitFor(() => a.cannotServe(nc).has('probe'), 5000, 'a hears c again after the outage');

  // Crash: c stops renewing without releasing. Seen dead after about the lease duration.
  const crashAt = performance.now();
  await c.abandon();
  const aSaw = await waitFor(() => !a.isAlive(nc), 4000, 'a sees c dead');
  await waitFor(() => !b.isAlive(nc), 1000, 'b sees c dead');
  const sinceCrash = performance.now() - crashAt;
  t.diagnostic(`crash of c detected by a after ${Math.round(aSaw)} ms`);
  assert.ok(aSaw >= timings.leaseDurationMs - timings.retryPeriodMs - 50, `not before the duration (${Math.round(aSaw)} ms)`);
  assert.ok(sinceCrash <= timings.leaseDurationMs + 2 * timings.retryPeriodMs + 300, `not much after (${Math.round(sinceCrash)} ms)`);
  assert.deepEqual(ours(a, nodes), [na, nb]);

  // Graceful: b releases; a sees it dead at once (no waiting out the duration).
  const relAt = performance.now();
  await b.release();
  await waitFor(() => !a.isAlive(nb), 1000, 'a sees b released');
  const relSeen = performance.now() - relAt;
  t.diagnostic(`release of b seen by a after ${Math.round(relSeen)} ms`);
  assert.ok(relSeen < 250, `released member seen dead after ${Math.round(relSeen)} ms`);
  const released = await direct.coordination.readNamespacedLease({ namespace: NS, name: membershipLeaseName(nb) });
  assert.equal(released.spec?.holderIdentity ?? '', '');
  assert.deepEqual(ours(a, nodes), [na]);
  const member = a.members().find((m) => m.lease === membershipLeaseName(nb));
  assert.equal(member?.alive, false);
  assert.equal(a.members().find((m) => m.self)?.node, na);
});

test('a restarted speaker on the same node picks up its own Lease at once', async (t) => {
  const direct = new TypedKubeClient(cp.speakerConfig());
  const node = uniqueName('n');
  const first = new Membership({ client: direct, namespace: NS, nodeName: node, ...timings });
  first.start();
  await first.whenReady(AbortSignal.timeout(10_000));
  await first.abandon(); // crash: the Lease still names this node
  const second = new Membership({ client: direct, namespace: NS, nodeName: node, ...timings });
  t.after(() => second.release());
  const t0 = performance.now();
  second.start();
  await second.whenReady(AbortSignal.timeout(10_000));
  assert.ok(performance.now() - t0 < timings.leaseDurationMs, 'no waiting out its own old Lease');
  await waitFor(() => second.isAlive(node), 2000, 'sees itself alive');
  assert.equal(second.renewing, true);
});
