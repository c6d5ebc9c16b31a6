// Leader election on a real kube-apiserver, as the speaker's ServiceAccount in the speakers'
// namespace, with short timings (duration 1 s, renew deadline 700 ms, retry 200 ms).
import { TypedKubeClient } from '../../scripts/kit/typed-client.ts';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { isConflict } from '../../src/kube/errors.ts';
import { LeaseElection } from '../../src/kube/lease-election.ts';
import { controlPlane, uniqueName } from '../../scripts/kit/control-plane.ts';
import { TcpProxy, serverAddress, viaProxy } from '../../scripts/kit/tcp-proxy.ts';

const cp = await controlPlane();
after(() => cp.stop());
const NS = 'openelb-system';
const timings = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 200 };

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

/** Records every start/stop with a timestamp and checks that terms never overlap. */
class Witness {
  leaders = new Set<string>();
  maxConcurrent = 0;
  log: Array<{ who: string; what: 'start' | 'stop'; at: number }> = [];
  elector(client: TypedKubeClient, name: string, identity: string): LeaseElection {
    return new LeaseElection({
      client,
      namespace: NS,
      name,
      identity,
      ...timings,
      onStartedLeading: (signal) => {
        assert.equal(signal.aborted, false);
        this.leaders.add(identity);
        this.maxConcurrent = Math.max(this.maxConcurrent, this.leaders.size);
        this.log.push({ who: identity, what: 'start', at: performance.now() });
      },
      onStoppedLeading: () => {
        this.leaders.delete(identity);
        this.log.push({ who: identity, what: 'stop', at: performance.now() });
      },
    });
  }
  last(who: string, what: 'start' | 'stop'): number {
    const e = this.log.filter((x) => x.who === who && x.what === what).at(-1);
    if (!e) throw new Error(`no ${what} for ${who}`);
    return e.at;
  }
}

test('two electors on one Lease: exactly one leader; release() hands over in under 1 s', async (t) => {
  const speaker = new TypedKubeClient(cp.speakerConfig());
  const name = uniqueName('oelb-elect');
  const w = new Witness();
  const a = w.elector(speaker, name, 'node-a');
  const b = w.elector(speaker, name, 'node-b');
  t.after(() => Promise.all([a.abandon(), b.abandon()]));
  a.start();
  b.start();
  await waitFor(() => w.leaders.size === 1, 5000, 'a leader');
  // Stay a while: renewals keep the same single leader, never two.
  const first = [...w.leaders][0];
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(w.maxConcurrent, 1);
  assert.deepEqual([...w.leaders], [first], 'leadership stable while renewing');
  assert.equal(a.isLeader !== b.isLeader, true);
  const [leader, follower] = a.isLeader ? [a, b] : [b, a];
  assert.equal(follower.leader, first, 'follower knows who leads');

  const t0 = performance.now();
  await leader.release();
  assert.equal(leader.isLeader, false);
  const took = await waitFor(() => follower.isLeader, 2000, 'handover after release');
  const total = performance.now() - t0;
  t.diagnostic(`handover ${Math.round(total)} ms after release() was called`);
  assert.ok(total < 1000, `handover took ${Math.round(total)} ms (wait ${Math.round(took)} ms after release)`);
  assert.equal(w.maxConcurrent, 1);
  const lease = await speaker.coordination.readNamespacedLease({ namespace: NS, name });
  assert.equal(lease.spec?.holderIdentity, follower === a ? 'node-a' : 'node-b');
  assert.equal(lease.spec?.leaseTransitions, 1, 'one transition counted');
  // MicroTime round trip: 6 fractional digits as the API server stores it.
  assert.match(String(lease.spec?.renewTime), /\.\d{6}Z$/);
});

test('a leader that cannot renew (API unreachable) steps down by its renew deadline; the other takes over only after that', async (t) => {
  const speakerKc = cp.speakerConfig();
  const { host, port } = serverAddress(speakerKc);
  const proxy = await TcpProxy.start(host, port);
  t.after(() => proxy.close());
  const direct = new TypedKubeClient(speakerKc);
  const proxied = new TypedKubeClient(viaProxy(speakerKc, proxy), { requestTimeoutMs: 2000 });
  const name = uniqueName('oelb-elect');
  const w = new Witness();
  const a = w.elector(proxied, name, 'node-a');
  t.after(() => a.abandon());
  a.start();
  await waitFor(() => a.isLeader, 5000, 'a leads');
  const b = w.elector(direct, name, 'node-b');
  t.after(() => b.abandon());
  b.start();
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(b.isLeader, false);

  const cutAt = performance.now();
  proxy.pause();
  await waitFor(() => !a.isLeader, 2000, 'a steps down');
  const downAfter = w.last('node-a', 'stop') - cutAt;
  assert.ok(downAfter <= timings.renewDeadlineMs + 250, `stepped down ${Math.round(downAfter)} ms after the cut`);
  await waitFor(() => b.isLeader, 3000, 'b takes over');
  // Safety: b starts only after a stopped, and not before a's lease could have expired.
  assert.ok(w.last('node-b', 'start') > w.last('node-a', 'stop'), 'no overlap');
  const takeover = w.last('node-b', 'start') - cutAt;
  t.diagnostic(`step-down ${Math.round(downAfter)} ms, takeover ${Math.round(takeover)} ms after the API became unreachable`);
  assert.ok(takeover >= timings.leaseDurationMs - timings.retryPeriodMs, `took over ${Math.round(takeover)} ms after the cut`);
  assert.equal(w.maxConcurrent, 1);

  // When a can reach the API again it sees b's Lease and stays a follower.
  proxy.resume();
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(a.isLeader, false);
  assert.equal(a.leader, 'node-b');
  assert.equal(b.isLeader, true);
});

test('a stale leader PUT with an old resourceVersion gets 409 and does not change the Lease', async (t) => {
  const speaker = new TypedKubeClient(cp.speakerConfig());
  const name = uniqueName('oelb-elect');
  const w = new Witness();
  const a = w.elector(speaker, name, 'node-a');
  t.after(() => a.abandon());
  a.start();
  await waitFor(() => a.isLeader, 5000, 'a leads');
  const old = await speaker.coordination.readNamespacedLease({ namespace: NS, name });
  // Wait for a renewal: the resourceVersion moves on.
  await new Promise((r) => setTimeout(r, 2 * timings.retryPeriodMs + 100));
  const now = await speaker.coordination.readNamespacedLease({ namespace: NS, name });
  assert.notEqual(now.metadata?.resourceVersion, old.metadata?.resourceVersion, 'leader renewed');
  const stale = { ...old, spec: { ...old.spec, holderIdentity: 'node-stale' } };
  await assert.rejects(
    speaker.coordination.replaceNamespacedLease({ namespace: NS, name, body: stale }),
    (err) => isConflict(err),
  );
  const after = await speaker.coordination.readNamespacedLease({ namespace: NS, name });
  assert.equal(after.spec?.holderIdentity, 'node-a');
  assert.equal(a.isLeader, true);
});

test('constructor rejects invalid timings with a message naming the Lease', () => {
  const speaker = new TypedKubeClient(cp.speakerConfig());
  assert.throws(
    () =>
      new LeaseElection({
        client: speaker,
        namespace: NS,
        name: 'openelb-ipam',
        identity: 'x',
        leaseDurationMs: 500,
        renewDeadlineMs: 700,
        retryPeriodMs: 200,
        onStartedLeading: () => {},
        onStoppedLeading: () => {},
      }),
    /openelb-ipam: lease duration \(500 ms\) must be greater than renew deadline/,
  );
});
