// The BGP lab's routers (scripts/kit/bgp) proven router to router before our speaker exists:
// BIRD and FRR each peer with two GoBGPs (standing in for two nodes) on one bridge; both GoBGPs
// announce the same /32, so BIRD's and FRR's kernel FIBs must hold one ECMP route with both as
// next hops (the multipath config works), and withdraw one when its GoBGP stops. BIRD announces a
// prefix back, seen in GoBGP's RIB. One BIRD session and one FRR session use TCP MD5; a wrong
// password keeps a session down. Every reader (sessions, RIB, FIB) is exercised on real output.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, type Netns } from '../../scripts/kit/netns.ts';
import { BirdRouter } from '../../scripts/kit/bgp/bird.ts';
import { FrrRouter } from '../../scripts/kit/bgp/frr.ts';
import { GobgpRouter, ensureGobgp } from '../../scripts/kit/bgp/gobgp.ts';
import { fibNextHops, waitForFib } from '../../scripts/kit/bgp/fib.ts';
import type { Router, SessionInfo } from '../../scripts/kit/bgp/router.ts';
import { requireRouterTools } from '../../scripts/kit/bgp/tools.ts';

const BIRD = { addr: '10.77.0.1', as: 64512 };
const FRR = { addr: '10.77.0.2', as: 64513 };
const G1 = { addr: '10.77.0.11', as: 64600 };
const G2 = { addr: '10.77.0.12', as: 64600 };
const VIP = '192.0.2.10/32';
const BIRD_OWN = '192.0.2.20/32';
const SECRET = 'lab-md5-secret';

let lab: Lab;
let bird: BirdRouter;
let frr: FrrRouter;
let g1: GobgpRouter;
let g2: GobgpRouter;
let gobgpBin: string;
const ns: Record<string, Netns> = {};

async function waitSessions(r: Router, want: (s: SessionInfo[]) => boolean, what: string, timeoutMs = 20_000): Promise<SessionInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let last: SessionInfo[] = [];
  while (Date.now() < deadline) {
    last = await r.sessions();
    if (want(last)) return last;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${r.kind} ${r.spec.routerId}: ${what} not reached in ${timeoutMs} ms: ${JSON.stringify(last)}\n${r.log().slice(-3000)}`);
}

const established = (peers: string[]) => (s: SessionInfo[]) => peers.every((p) => s.find((x) => x.peer === p)?.state === 'established');

before(async () => {
  requireRouterTools('the BGP router tests');
  const bin = (gobgpBin = ensureGobgp());
  lab = await Lab.create();
  const sw = await lab.bridge('sw');
  for (const [role, addr] of [['bird', BIRD.addr], ['frr', FRR.addr], ['g1', G1.addr], ['g2', G2.addr]] as const) {
    ns[role] = await lab.namespace(role);
    await lab.attach(sw, ns[role]!, 'eth0', { addr: `${addr}/24` });
  }
  const gPeers = [
    { name: 'bird', address: BIRD.addr, as: BIRD.as },
    { name: 'frr', address: FRR.addr, as: FRR.as },
  ];
  [bird, frr, g1, g2] = await Promise.all([
    BirdRouter.start(ns.bird!, {
      routerId: BIRD.addr, as: BIRD.as, localAddress: BIRD.addr, originate: [BIRD_OWN],
      peers: [
        { name: 'g1', address: G1.addr, as: G1.as, password: SECRET },
        { name: 'g2', address: G2.addr, as: G2.as },
      ],
    }),
    FrrRouter.start(ns.frr!, {
      routerId: FRR.addr, as: FRR.as, localAddress: FRR.addr,
      peers: [
        { name: 'g1', address: G1.addr, as: G1.as },
        { name: 'g2', address: G2.addr, as: G2.as, password: SECRET },
      ],
    }),
    GobgpRouter.start(ns.g1!, {
      routerId: G1.addr, as: G1.as, localAddress: G1.addr, originate: [VIP],
      peers: [{ ...gPeers[0]!, password: SECRET }, gPeers[1]!],
    }, bin),
    GobgpRouter.start(ns.g2!, {
      routerId: G2.addr, as: G2.as, localAddress: G2.addr, originate: [VIP],
      peers: [gPeers[0]!, { ...gPeers[1]!, password: SECRET }],
    }, bin),
  ]);
});

after(async () => {
  await Promise.all([bird, frr, g1, g2].map((r) => r?.stop().catch(() => undefined)));
  await lab?.teardown();
});

test('BIRD and FRR establish with both GoBGPs (MD5 on one session each) and install one ECMP route with both next hops', async () => {
  for (const r of [bird, frr]) {
    const s = await waitSessions(r, established([G1.addr, G2.addr]), 'both sessions established');
    assert.equal(s.length, 2);
  }
  await waitForFib(ns.bird!, VIP, [G1.addr, G2.addr]);
  await waitForFib(ns.frr!, VIP, [G1.addr, G2.addr]);
  // The routers' own RIB views agree with their FIBs.
  assert.deepEqual((await bird.ribNextHops(VIP)).sort(), [G1.addr, G2.addr]);
  assert.deepEqual((await frr.ribNextHops(VIP)).sort(), [G1.addr, G2.addr]);
  const bs = await bird.sessions();
  assert.deepEqual(bs.map((s) => s.prefixesReceived), [1, 1]);
});

test('a route BIRD originates reaches GoBGP (read from its RIB; GoBGP has no FIB), not via FRR', async () => {
  await waitSessions(g1, established([BIRD.addr, FRR.addr]), 'GoBGP sessions established');
  const deadline = Date.now() + 10_000;
  let hops: string[] = [];
  while (Date.now() < deadline) {
    hops = await g1.ribNextHops(BIRD_OWN);
    if (hops.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(hops, [BIRD.addr]);
  // FRR exports only what it originates: the node-announced VIP is not echoed back.
  const g1Sessions = await g1.sessions();
  assert.equal(g1Sessions.find((s) => s.peer === FRR.addr)?.prefixesReceived, 0);
  assert.equal(g1Sessions.find((s) => s.peer === BIRD.addr)?.prefixesReceived, 1);
});

test('GoBGP stopping (NOTIFICATION cease) takes its next hop out of both FIBs; the sessions show it', async () => {
  await g2.stop();
  await waitForFib(ns.bird!, VIP, [G1.addr]);
  await waitForFib(ns.frr!, VIP, [G1.addr]);
  const s = await waitSessions(frr, (x) => x.find((p) => p.peer === G2.addr)?.state !== 'established', 'g2 down');
  const down = s.find((p) => p.peer === G2.addr)!;
  // GoBGP sends Cease/Peer De-configured (a connection it was still opening may get one too).
  assert.ok((down.notificationsReceived ?? 0) >= 1, `FRR counts the cease NOTIFICATION: ${JSON.stringify(down)}`);
  assert.match(down.lastError ?? '', /Cease/);
  const b = await waitSessions(bird, (x) => x.find((p) => p.peer === G2.addr)?.state !== 'established', 'g2 down');
  assert.match(b.find((p) => p.peer === G2.addr)?.lastError ?? '', /^Received: Peer de-configured/);
  assert.deepEqual(await fibNextHops(ns.bird!, VIP), [G1.addr]);
});

test('an MD5 password mismatch keeps the session down', async () => {
  const wrong = await GobgpRouter.start(ns.g2!, {
    routerId: G2.addr, as: G2.as, localAddress: G2.addr, originate: [VIP],
    // BIRD expects no password from g2; FRR expects SECRET: both mismatch.
    peers: [{ name: 'bird', address: BIRD.addr, as: BIRD.as, password: 'other' }, { name: 'frr', address: FRR.addr, as: FRR.as, password: 'other' }],
  }, gobgpBin);
  g2 = wrong;
  // Several connect retries (1 s) and BIRD error waits (1-4 s) long.
  await new Promise((r) => setTimeout(r, 5000));
  for (const r of [bird, frr, wrong]) {
    const s = await r.sessions();
    const peerOf = r === wrong ? [BIRD.addr, FRR.addr] : [G2.addr];
    for (const p of peerOf) assert.notEqual(s.find((x) => x.peer === p)?.state, 'established', `${r.kind}: session to ${p} must stay down`);
  }
  assert.deepEqual(await fibNextHops(ns.bird!, VIP), [G1.addr]);
});
