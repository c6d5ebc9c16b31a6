// BgpSpeaker against a real BIRD 2 in a router namespace (veth 10.77.0.1 router <-> 10.77.0.2 speaker):
// sessions establish both ways, routes reach BIRD's table and the router's kernel FIB and are
// withdrawn, close() withdraws and says Cease/Administrative Shutdown, TCP MD5 match and mismatch,
// hold timer expiry when BIRD stops answering. The speaker runs as a child process in its namespace
// (test/netns/fixtures/bgp-speaker-fixture.ts), on Node and (the establish test) on Deno.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denoArgv, tsxArgv, type Child } from '../../scripts/kit/netns.ts';
import type { PeerConfig, PeerStatus } from '../../src/bgp/speaker.ts';
import { bgpPair, birdConfig, captureTtls, events, lastStatus, ROUTER_IP6, send, SPEAKER_IP6, SPEAKER_IP, speakerPeer, startBird, type Pair } from './fixtures/bgp-kit.ts';
import { waitFor } from '../../scripts/kit/wait.ts';

const FIXTURE = 'test/netns/fixtures/bgp-speaker-fixture.ts';

interface SpeakerCfg {
  peers: PeerConfig[];
  routes?: string[];
  listen?: { port: number; addresses: string[] };
  nextHops?: { '4'?: string; '6'?: string };
}

function startSpeaker(p: Pair, cfg: SpeakerCfg, argvFor = tsxArgv): Child {
  return p.speaker.spawn(argvFor(FIXTURE, JSON.stringify(cfg)));
}

async function established(c: Child, timeoutMs = 15_000): Promise<void> {
  await waitFor('the session to be established', async () => lastStatus(c)?.state === 'established', timeoutMs);
}

async function fib(p: Pair): Promise<string[]> {
  const out = await p.router.ip('-4', 'route', 'show', 'proto', 'bird');
  return [...out.matchAll(/^(\S+)\s+via\s+(\S+)/gm)].map((m) => `${m[1]} via ${m[2]}`).sort();
}

for (const [runtime, argvFor] of [
  ['Node', tsxArgv],
  ['Deno', denoArgv],
] as const) {
  test(`${runtime}, active: establishes with BIRD (TTL 1, graceful restart), routes reach BIRD and the FIB, route refresh, change and close() withdraw (Cease 6/2)`, async (t) => {
    const p = await bgpPair(t);
    const bird = await startBird(p, birdConfig({ passive: true }));
    const ttls = await captureTtls(p, SPEAKER_IP);
    const sp = startSpeaker(p, { peers: [speakerPeer({ gracefulRestart: { restartTime: 120 } })], routes: ['192.0.2.10/32', '192.0.2.11/32'] }, argvFor);
    await sp.waitForLine(/"ready"/, 30_000);
    await established(sp);
    assert.deepEqual(await waitFor('routes in BIRD', async () => ((await bird.routes()).length === 2 ? bird.routes() : undefined)), ['192.0.2.10/32', '192.0.2.11/32']);
    const proto = await bird.protocol();
    assert.match(proto, /BGP state:\s+Established/);
    // BIRD lists what we advertised: route refresh, graceful restart (with the F bit: "preserved"), 4-octet AS.
    const caps = proto.slice(proto.indexOf('Neighbor capabilities'));
    assert.match(caps, /Route refresh\s+Graceful restart\s+Restart time: 120\s+AF supported: ipv4\s+AF preserved: ipv4\s+4-octet AS numbers/, caps);
    await waitFor('routes in the router FIB', async () => (await fib(p)).length === 2);
    assert.deepEqual(await fib(p), [`192.0.2.10 via ${SPEAKER_IP}`, `192.0.2.11 via ${SPEAKER_IP}`]);
    const st = lastStatus(sp)!;
    assert.equal(st.negotiatedHoldTime, 9);
    assert.ok(st.uptimeStart! > 0);
    const seen = await ttls.stop();
    assert.ok(seen.length >= 3, `captured ${seen.length} packets`);
    assert.deepEqual([...new Set(seen)], [1], 'eBGP without multihop: TTL 1 from the SYN on');

    // ROUTE-REFRESH from BIRD: the Adj-RIB-Out is sent again.
    const updatesBefore = st.messages!.sent.update;
    await bird.birdc('reload', 'in', 'n1');
    sp.write('{"cmd":"status"}\n');
    await waitFor('the refresh answered', async () => {
      sp.write('{"cmd":"status"}\n');
      const s = (events(sp).filter((e) => e.event === 'statuses').at(-1)?.['statuses'] as PeerStatus[] | undefined)?.[0];
      return s && s.messages.received.refresh === 1 && s.messages.sent.update > updatesBefore;
    });
    assert.deepEqual(await bird.routes(), ['192.0.2.10/32', '192.0.2.11/32']);

    send(sp, { cmd: 'routes', routes: ['192.0.2.11/32', '192.0.2.12/32'] });
    await waitFor('BIRD to see the change', async () => (await bird.routes()).join() === '192.0.2.11/32,192.0.2.12/32');

    send(sp, { cmd: 'close', withdraw: true });
    await sp.waitForLine(/"closed"/);
    await waitFor('routes gone from BIRD', async () => (await bird.routes()).length === 0, 5000);
    assert.match(await bird.protocol(), /Received: Administrative shutdown/);
    assert.deepEqual(await fib(p), []);
    const closed = events(sp).find((e) => e.event === 'closed')!;
    assert.ok((closed['ms'] as number) < 1000, `close() took ${String(closed['ms'])} ms`);
  });
}

for (const [runtime, argvFor] of [
  ['Node', tsxArgv],
  ['Deno', denoArgv],
] as const) {
  test(`${runtime}, passive: BIRD dials the listener (multihop TTL 3 on the accepted socket); an unknown source is closed at once and logged once`, async (t) => {
  const p = await bgpPair(t);
  const sp = startSpeaker(p, { peers: [speakerPeer({ passive: true, ebgpMultihopTtl: 3 })], routes: ['192.0.2.20/32'], listen: { port: 179, addresses: [SPEAKER_IP] } }, argvFor);
  await sp.waitForLine(/"ready"/, 30_000);
  // BIRD starts once we listen: a SYN before that would get the kernel's RST (TTL 64, no socket of ours).
  const ttls = await captureTtls(p, SPEAKER_IP);
  const bird = await startBird(p, birdConfig({ passive: false }));
  await established(sp);
  const seen = await ttls.stop();
  assert.ok(seen.length >= 3, `captured ${seen.length} packets`);
  assert.deepEqual([...new Set(seen)], [3], ttls.text());
  assert.deepEqual(await waitFor('route in BIRD', async () => ((await bird.routes()).length === 1 ? bird.routes() : undefined)), ['192.0.2.20/32']);
  assert.equal(lastStatus(sp)!.messages!.sent.open, 1, 'a passive peer never dialed: one connection, one OPEN');

  // A stranger (second address on the router side) connects twice: closed each time, one log line.
  await p.router.ip('addr', 'add', '10.77.0.9/24', 'dev', 'eth0');
  const py = `import socket
for i in range(2):
    s = socket.socket(); s.bind(('10.77.0.9', 0)); s.settimeout(3); s.connect(('${SPEAKER_IP}', 179))
    print('eof' if s.recv(10) == b'' else 'data')`;
  const r = await p.router.run(['python3', '-c', py]);
  assert.deepEqual(r.trim().split('\n'), ['eof', 'eof']);
  const logs = events(sp).filter((e) => e.event === 'log' && e['source'] === '10.77.0.9');
  assert.equal(logs.length, 1, JSON.stringify(logs));
  assert.equal(lastStatus(sp)!.state, 'established', 'the real session is untouched');
});
}

test('TCP MD5: matching passwords establish (active and passive, Node and Deno); a mismatch does not, and the status says why', async (t) => {
  for (const [runtime, argvFor] of [
    ['Node', tsxArgv],
    ['Deno', denoArgv],
  ] as const) {
    await t.test(`${runtime}: active, match`, async (t) => {
      const p = await bgpPair(t);
      const bird = await startBird(p, birdConfig({ passive: true, password: 'correct horse' }));
      const sp = startSpeaker(p, { peers: [speakerPeer({ authPassword: 'correct horse' })], routes: ['192.0.2.30/32'] }, argvFor);
      await established(sp, 30_000);
      assert.deepEqual(await waitFor('route in BIRD', async () => ((await bird.routes()).length === 1 ? bird.routes() : undefined)), ['192.0.2.30/32']);
    });
    await t.test(`${runtime}: passive, match (key on the listening socket)`, async (t) => {
      const p = await bgpPair(t);
      await startBird(p, birdConfig({ passive: false, password: 'battery staple' }));
      const sp = startSpeaker(p, { peers: [speakerPeer({ passive: true, authPassword: 'battery staple' })], listen: { port: 179, addresses: [SPEAKER_IP] } }, argvFor);
      await established(sp, 30_000);
    });
  }
  await t.test('active, mismatch: never established; lastError names the MD5 password and the BgpPeer', async (t) => {
    const p = await bgpPair(t);
    const bird = await startBird(p, birdConfig({ passive: true, password: 'right' }));
    const sp = startSpeaker(p, { peers: [speakerPeer({ authPassword: 'wrong', connectRetry: 2 })] });
    const st = await waitFor('a connect failure in the status', async () => {
      const s = lastStatus(sp);
      return s?.lastError ? s : undefined;
    });
    assert.match(st.lastError!, /connect: no answer within 2 s; TCP MD5 is configured: a password mismatch looks exactly like this .* BgpPeer router1/);
    assert.ok(!events(sp).some((e) => e.event === 'status' && e.state === 'established'));
    assert.doesNotMatch(await bird.protocol(), /Established/);
  });
  await t.test('passive, mismatch: BIRD never gets through; the status reports the kernel dropping wrongly signed segments', async (t) => {
    const p = await bgpPair(t);
    const bird = await startBird(p, birdConfig({ passive: false, password: 'right' }));
    const sp = startSpeaker(p, { peers: [speakerPeer({ passive: true, authPassword: 'wrong' })], listen: { port: 179, addresses: [SPEAKER_IP] } });
    await sp.waitForLine(/"ready"/, 30_000);
    const st = await waitFor('an MD5 hint in the status', async () => {
      const s = lastStatus(sp);
      return s?.lastError ? s : undefined;
    });
    assert.match(st.lastError!, /^BgpPeer router1: the kernel dropped TCP segments \(\d+ with a wrong MD5 signature; counted for all peers of this node\): authPassword probably differs from the router's$/);
    assert.ok(!events(sp).some((e) => e.event === 'status' && e.state !== 'active'), JSON.stringify(events(sp).map((e) => e.state)));
    assert.doesNotMatch(await bird.protocol(), /Established/);
  });
  await t.test('passive, the router signs but we have no password: reported as well', async (t) => {
    const p = await bgpPair(t);
    await startBird(p, birdConfig({ passive: false, password: 'only-the-router' }));
    const sp = startSpeaker(p, { peers: [speakerPeer({ passive: true })], listen: { port: 179, addresses: [SPEAKER_IP] } });
    const st = await waitFor('an MD5 hint in the status', async () => {
      const s = lastStatus(sp);
      return s?.lastError ? s : undefined;
    });
    assert.match(st.lastError!, /\d+ signed though no password is set/);
  });
});

test('Node: BIRD stops answering (SIGSTOP): hold timer expires (NOTIFICATION 4/0 sent), then the session comes back', async (t) => {
  const p = await bgpPair(t);
  const bird = await startBird(p, birdConfig({ passive: true, holdTime: 3 }));
  const sp = startSpeaker(p, { peers: [speakerPeer({ holdTime: 3 })], routes: ['192.0.2.40/32'] });
  await established(sp);
  const pid = bird.child.pid!;
  process.kill(pid, 'SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed) process.kill(pid, 'SIGCONT');
  });
  const t0 = Date.now();
  const down = await waitFor('the hold timer to expire', async () => {
    const s = lastStatus(sp);
    return s && s.state !== 'established' ? s : undefined;
  }, 10_000);
  const waited = Date.now() - t0;
  assert.match(down.lastError!, /hold timer expired \(3 s without a message from the peer\)/);
  assert.equal(down.messages!.sent.notification, 1);
  assert.ok(waited >= 1500, `dropped after ${waited} ms: not before the hold time could run out`);
  process.kill(pid, 'SIGCONT');
  resumed = true;
  await waitFor('re-established', async () => {
    const s = lastStatus(sp);
    return s?.state === 'established' && (s.since ?? 0) > t0;
  }, 20_000);
  assert.deepEqual(await waitFor('route back in BIRD', async () => ((await bird.routes()).length === 1 ? bird.routes() : undefined)), ['192.0.2.40/32']);
});

test('Node: both sides dial at once (collision): one session survives and stays up', async (t) => {
  const p = await bgpPair(t);
  const bird = await startBird(p, birdConfig({ passive: false, extra: 'connect delay time 0;' }));
  const sp = startSpeaker(p, { peers: [speakerPeer({ connectRetry: 1 })], routes: ['192.0.2.60/32'], listen: { port: 179, addresses: [SPEAKER_IP] } });
  await established(sp);
  const first = lastStatus(sp)!;
  await new Promise((r) => setTimeout(r, 3000));
  const later = lastStatus(sp)!;
  assert.equal(later.state, 'established');
  assert.equal(later.uptimeStart, first.uptimeStart, 'no flap after establishment');
  assert.match(await bird.protocol(), /BGP state:\s+Established/);
  assert.deepEqual(await bird.routes(), ['192.0.2.60/32']);
});

test('Node, session over IPv6 with both families: IPv6 routes in MP_REACH with our v6 address, IPv4 routes with the v4 next hop given', async (t) => {
  const p = await bgpPair(t);
  const bird = await startBird(p, birdConfig({ passive: true, v6: true, channels: ['ipv4', 'ipv6'] }));
  const sp = startSpeaker(p, {
    peers: [speakerPeer({ neighborAddress: ROUTER_IP6, families: ['ipv4-unicast', 'ipv6-unicast'] })],
    routes: ['192.0.2.70/32', '2001:db8::70/128'],
    nextHops: { '4': SPEAKER_IP },
  });
  await established(sp);
  const want = [`192.0.2.70/32 via ${SPEAKER_IP}`, `2001:db8::70/128 via ${SPEAKER_IP6}`];
  assert.deepEqual(await waitFor('both routes in BIRD', async () => ((await bird.routesVia()).length === 2 ? bird.routesVia() : undefined)), want);
  send(sp, { cmd: 'routes', routes: ['192.0.2.70/32'] });
  await waitFor('the IPv6 route withdrawn (MP_UNREACH)', async () => (await bird.routes()).join() === '192.0.2.70/32');
});

test('Node: peer removed -> Cease 6/3 and its routes gone from BIRD; re-added adminDown -> stays down; then up again', async (t) => {
  const p = await bgpPair(t);
  const bird = await startBird(p, birdConfig({ passive: true }));
  const sp = startSpeaker(p, { peers: [speakerPeer()], routes: ['192.0.2.80/32'] });
  await established(sp);
  await waitFor('route in BIRD', async () => (await bird.routes()).length === 1);
  send(sp, { cmd: 'peers', peers: [] });
  await waitFor('BIRD to see the peer go', async () => /Received: Peer de-configured/.test(await bird.protocol()));
  assert.deepEqual(await bird.routes(), []);
  send(sp, { cmd: 'peers', peers: [speakerPeer({ adminDown: true })] });
  await waitFor('adminDown in the status', async () => lastStatus(sp)?.lastError === 'administratively down (adminDown: true)');
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(lastStatus(sp)!.state, 'idle');
  assert.doesNotMatch(await bird.protocol(), /Established/);
  send(sp, { cmd: 'peers', peers: [speakerPeer()] });
  await waitFor('established again', async () => lastStatus(sp)?.state === 'established');
  await waitFor('route back in BIRD', async () => (await bird.routes()).length === 1);
});

test('Node: 1,000 routes reach BIRD in 2 packed UPDATEs plus End-of-RIB; withdrawing them all takes 2', async (t) => {
  const p = await bgpPair(t);
  const bird = await startBird(p, birdConfig({ passive: true }));
  const routes = Array.from({ length: 1000 }, (_, i) => `198.18.${i >> 8}.${i & 255}/32`);
  const sp = startSpeaker(p, { peers: [speakerPeer()], routes });
  await established(sp);
  const count = async (): Promise<number> => Number(/(\d+) of \d+ routes for \d+ networks in table master4/.exec(await bird.birdc('show', 'route', 'count'))?.[1] ?? -1);
  await waitFor('1,000 routes in BIRD', async () => (await count()) === 1000, 15_000);
  const st = lastStatus(sp)!;
  assert.equal(st.messages!.sent.update, 3, 'two UPDATEs of ~500 /32s each, then End-of-RIB');
  assert.equal(st.announced, 1000);
  send(sp, { cmd: 'routes', routes: [] });
  await waitFor('all withdrawn', async () => (await count()) === 0, 15_000);
  sp.write('{"cmd":"status"}\n');
  const after = await waitFor('status', async () => (events(sp).filter((e) => e.event === 'statuses').at(-1)?.['statuses'] as PeerStatus[] | undefined)?.[0]);
  assert.equal(after.messages.sent.update, 5, 'two UPDATEs withdraw all 1,000 (5 bytes each do not fit one)');
});
