// The peer FSM over scripted timelines: a virtual clock fires the timers the FSM sets, so hold
// expiry, keepalives, connect retries and backoff are checked without real time passing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idleHoldMs, initialState, step, type Action, type Event, type FsmConfig, type FsmState } from '../../../src/bgp/fsm.ts';
import type { OpenMessage } from '../../../src/bgp/codec/types.ts';

const CFG: FsmConfig = {
  localAs: 65001,
  peerAs: 65000,
  routerId: '10.0.0.2',
  holdTime: 9,
  connectRetry: 5,
  families: ['ipv4-unicast', 'ipv6-unicast'],
  passive: false,
};

function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAs: 65000,
    holdTime: 90,
    bgpId: '10.0.0.1',
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', as: 65000 },
    ],
    ...over,
  };
}

/** The FSM plus a virtual clock and the timers it has set. */
class Sim {
  now = 0;
  s: FsmState;
  timers = new Map<string, { at: number; timer: Action & { type: 'set-timer' } }>();
  log: Action[] = [];
  constructor(
    readonly cfg: FsmConfig = CFG,
    seed = 7,
  ) {
    this.s = initialState(0, seed);
  }
  feed(e: Event): Action[] {
    const r = step(this.cfg, this.s, e, this.now);
    this.s = r.state;
    for (const a of r.actions) {
      if (a.type === 'set-timer') this.timers.set(`${a.timer}:${a.conn ?? ''}`, { at: this.now + a.ms, timer: a });
      if (a.type === 'clear-timer') this.timers.delete(`${a.timer}:${a.conn ?? ''}`);
    }
    this.log.push(...r.actions);
    return r.actions;
  }
  /** Advances the clock by ms, firing due timers in order. */
  advance(ms: number): Action[] {
    const end = this.now + ms;
    const out: Action[] = [];
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      out.push(...this.feed({ type: 'timer', timer: due[1].timer.timer, ...(due[1].timer.conn !== undefined ? { conn: due[1].timer.conn } : {}) }));
    }
    this.now = end;
    return out;
  }
  timerAt(key: string): number | undefined {
    return this.timers.get(key)?.at;
  }
}

const sends = (as: Action[]): string[] => as.flatMap((a) => (a.type === 'send' ? [`${a.conn}:${a.message.type}`] : []));
const closes = (as: Action[]): string[] => as.flatMap((a) => (a.type === 'close' ? [`${a.conn}:${a.notification ? `${a.notification.code}/${a.notification.subcode}` : '-'}`] : []));
const states = (as: Action[]): string[] => as.flatMap((a) => (a.type === 'state' ? [a.state] : []));

/** Drives an active peer to Established on connection 1. */
function establish(sim: Sim, open = peerOpen()): void {
  sim.feed({ type: 'start' });
  sim.feed({ type: 'tcp-connected', conn: 1 });
  sim.feed({ type: 'message', conn: 1, message: open });
  sim.feed({ type: 'message', conn: 1, message: { type: 'keepalive' } });
  assert.equal(sim.s.state, 'established');
}

test('active peer: Idle -> Connect -> OpenSent -> OpenConfirm -> Established, with the RFC messages', () => {
  const sim = new Sim();
  let a = sim.feed({ type: 'start' });
  assert.deepEqual(a.filter((x) => x.type === 'connect'), [{ type: 'connect', conn: 1 }]);
  assert.deepEqual(states(a), ['connect']);
  a = sim.feed({ type: 'tcp-connected', conn: 1 });
  assert.deepEqual(sends(a), ['1:open']);
  const open = a.find((x) => x.type === 'send')!;
  assert.ok(open.type === 'send' && open.message.type === 'open');
  assert.equal(open.message.holdTime, 9);
  assert.deepEqual(
    open.message.capabilities.map((c) => c.kind),
    ['multiprotocol', 'multiprotocol', 'route-refresh', 'four-octet-as'],
  );
  assert.equal(sim.timerAt('hold:1'), 240_000, 'a large hold time until the OPEN arrives');
  assert.equal(sim.timerAt('connect-retry:'), undefined, 'connect retry stops once connected');
  a = sim.feed({ type: 'message', conn: 1, message: peerOpen() });
  assert.deepEqual(sends(a), ['1:keepalive']);
  assert.deepEqual(states(a), ['openconfirm']);
  assert.equal(sim.timerAt('hold:1'), 9000, 'negotiated hold: min(9, 90)');
  assert.equal(sim.timerAt('keepalive:1'), 3000, 'keepalive = hold / 3');
  a = sim.feed({ type: 'message', conn: 1, message: { type: 'keepalive' } });
  assert.deepEqual(states(a), ['established']);
  const est = a.find((x) => x.type === 'established');
  assert.ok(est && est.type === 'established');
  assert.deepEqual(est.negotiated.families, ['ipv4-unicast'], 'the peer advertised IPv4 unicast only');
  assert.equal(est.negotiated.fourOctetAs, true);
});

test('keepalives every hold/3; a quiet peer is dropped at hold expiry with NOTIFICATION 4/0, then backoff', () => {
  const sim = new Sim();
  establish(sim);
  // The peer answers with KEEPALIVEs for a while: the hold timer is restarted by each.
  for (let i = 0; i < 3; i++) {
    const a = sim.advance(3000);
    assert.deepEqual(sends(a), ['1:keepalive']);
    sim.feed({ type: 'message', conn: 1, message: { type: 'keepalive' } });
  }
  assert.equal(sim.s.state, 'established');
  // Now it goes quiet: 9 s after its last message we give up.
  const a = sim.advance(9000);
  assert.deepEqual(sends(a), ['1:keepalive', '1:keepalive'], 'we keep sending until the hold timer fires');
  assert.deepEqual(closes(a), ['1:4/0']);
  assert.ok(a.some((x) => x.type === 'down'));
  assert.equal(sim.s.state, 'idle');
  assert.match(sim.s.lastError ?? '', /hold timer expired \(9 s/);
  const hold = sim.timerAt('idle-hold:')! - sim.now;
  assert.ok(hold >= 750 && hold <= 1000, `first idle hold ${hold} ms in [750, 1000]`);
  // After the idle hold we dial again.
  const b = sim.advance(1000);
  assert.ok(b.some((x) => x.type === 'connect' && x.conn === 2));
  assert.equal(sim.s.state, 'connect');
});

test('hold time 0 on either side: no keepalives and no hold timer', () => {
  const sim = new Sim();
  sim.feed({ type: 'start' });
  sim.feed({ type: 'tcp-connected', conn: 1 });
  sim.feed({ type: 'message', conn: 1, message: peerOpen({ holdTime: 0 }) });
  sim.feed({ type: 'message', conn: 1, message: { type: 'keepalive' } });
  assert.equal(sim.s.state, 'established');
  assert.equal(sim.timerAt('hold:1'), undefined);
  assert.equal(sim.timerAt('keepalive:1'), undefined);
  const a = sim.advance(3_600_000);
  assert.deepEqual(a, []);
  assert.equal(sim.s.state, 'established');
});

test('a configured keepalive interval is used when shorter than hold/3, never longer', () => {
  const short = new Sim({ ...CFG, holdTime: 30, keepaliveInterval: 2 });
  establish(short);
  assert.equal(short.timerAt('keepalive:1')! - short.now, 2000);
  const long = new Sim({ ...CFG, holdTime: 30, keepaliveInterval: 60 });
  establish(long, peerOpen({ holdTime: 6 }));
  assert.equal(long.timerAt('keepalive:1')! - long.now, 2000, 'hold 6 -> keepalive 2 despite 60 configured');
});

test('OPEN checks: wrong AS, hold time 1-2, zero identifier, version; each with its NOTIFICATION', () => {
  const cases: [Partial<OpenMessage>, string, RegExp][] = [
    [{ myAs: 65099, capabilities: [{ kind: 'four-octet-as', as: 65099 }] }, '2/2', /peer AS 65099 does not match the configured peerAs 65000/],
    [{ holdTime: 2 }, '2/6', /hold time 2 s/],
    [{ holdTime: 1 }, '2/6', /hold time 1 s/],
    [{ bgpId: '0.0.0.0' }, '2/3', /identifier 0\.0\.0\.0/],
    [{ version: 3 }, '2/1', /version 3/],
  ];
  for (const [over, notif, why] of cases) {
    const sim = new Sim();
    sim.feed({ type: 'start' });
    sim.feed({ type: 'tcp-connected', conn: 1 });
    const a = sim.feed({ type: 'message', conn: 1, message: peerOpen(over) });
    assert.deepEqual(closes(a), [`1:${notif}`], JSON.stringify(over));
    assert.match(sim.s.lastError ?? '', why);
    assert.equal(sim.s.state, 'idle');
  }
});

test('4-octet AS: the peer AS comes from the capability (My AS holds AS_TRANS); without it, from My AS', () => {
  const big = new Sim({ ...CFG, peerAs: 4_200_000_000 });
  establish(big, peerOpen({ myAs: 23456, capabilities: [{ kind: 'four-octet-as', as: 4_200_000_000 }] }));
  const small = new Sim();
  establish(small, peerOpen({ capabilities: [] }));
  const est = small.log.find((x) => x.type === 'established');
  assert.ok(est?.type === 'established' && est.negotiated.fourOctetAs === false);
  // Our own OPEN with a 4-octet AS puts AS_TRANS in My AS.
  const ours = new Sim({ ...CFG, localAs: 4_200_000_001 });
  ours.feed({ type: 'start' });
  const open = ours.feed({ type: 'tcp-connected', conn: 1 }).find((x) => x.type === 'send');
  assert.ok(open?.type === 'send' && open.message.type === 'open');
  assert.equal(open.message.myAs, 23456);
  assert.deepEqual(open.message.capabilities.find((c) => c.kind === 'four-octet-as'), { kind: 'four-octet-as', as: 4_200_000_001 });
});

test('iBGP with our own router id is refused (2/3); eBGP with it is allowed (RFC 6286)', () => {
  const ibgp = new Sim({ ...CFG, peerAs: 65001 });
  ibgp.feed({ type: 'start' });
  ibgp.feed({ type: 'tcp-connected', conn: 1 });
  const a = ibgp.feed({ type: 'message', conn: 1, message: peerOpen({ myAs: 65001, bgpId: '10.0.0.2', capabilities: [] }) });
  assert.deepEqual(closes(a), ['1:2/3']);
  const ebgp = new Sim();
  establish(ebgp, peerOpen({ bgpId: '10.0.0.2' }));
});

test('graceful restart capability is advertised when configured: restart time and F bit per family', () => {
  const sim = new Sim({ ...CFG, gracefulRestart: { restartTime: 120 } });
  sim.feed({ type: 'start' });
  const open = sim.feed({ type: 'tcp-connected', conn: 1 }).find((x) => x.type === 'send');
  assert.ok(open?.type === 'send' && open.message.type === 'open');
  assert.deepEqual(open.message.capabilities.find((c) => c.kind === 'graceful-restart'), {
    kind: 'graceful-restart',
    restarting: false,
    restartTime: 120,
    families: [
      { afi: 1, safi: 1, forwardingPreserved: true },
      { afi: 2, safi: 1, forwardingPreserved: true },
    ],
  });
});

test('a decode error sends the codec NOTIFICATION and closes; the failure backoff grows and is capped', () => {
  const sim = new Sim({ ...CFG, idleHoldBaseMs: 1000, idleHoldMaxMs: 8000 });
  establish(sim);
  const holds: number[] = [];
  for (let i = 0; i < 6; i++) {
    const conn = sim.s.conns[0]!.id;
    if (sim.s.state !== 'established') {
      sim.feed({ type: 'tcp-connected', conn });
      sim.feed({ type: 'message', conn, message: peerOpen() });
      sim.feed({ type: 'message', conn, message: { type: 'keepalive' } });
    }
    const a = sim.feed({ type: 'decode-error', conn, error: { code: 3, subcode: 1 }, reason: 'malformed attribute list' });
    assert.deepEqual(closes(a), [`${conn}:3/1`]);
    assert.match(sim.s.lastError ?? '', /sent NOTIFICATION 3\/1: malformed attribute list/);
    holds.push(sim.timerAt('idle-hold:')! - sim.now);
    sim.advance(holds.at(-1)!);
    assert.equal(sim.s.state, 'connect');
  }
  const expected = [1000, 2000, 4000, 8000, 8000, 8000];
  holds.forEach((h, i) => assert.ok(h >= expected[i]! * 0.75 && h <= expected[i]!, `hold ${i}: ${h} vs ${expected[i]}`));
  assert.equal(new Set(holds.slice(3)).size > 1, true, 'jitter spreads the capped retries');
});

test('idleHoldMs: exponential, jitter within [0.75, 1], capped', () => {
  assert.equal(idleHoldMs({}, 1, 1 - 1e-9), 1000);
  assert.equal(idleHoldMs({}, 1, 0), 750);
  assert.equal(idleHoldMs({}, 3, 0), 3000);
  assert.equal(idleHoldMs({}, 60, 0.9999999), 60_000);
  assert.equal(idleHoldMs({ idleHoldMaxMs: 5000 }, 10, 0), 3750);
});

test('a session that stayed up longer than the cap starts its backoff afresh', () => {
  const sim = new Sim({ ...CFG, holdTime: 0, idleHoldMaxMs: 8000 });
  sim.s = { ...sim.s, failures: 5 };
  establish(sim, peerOpen({ holdTime: 0 }));
  sim.advance(10_000);
  sim.feed({ type: 'tcp-closed', conn: 1, reason: 'connection reset' });
  const hold = sim.timerAt('idle-hold:')! - sim.now;
  assert.ok(hold <= 1000, `back to the first step (${hold} ms)`);
});

test('NOTIFICATION from the peer: close, report why, back off', () => {
  const sim = new Sim();
  establish(sim);
  const a = sim.feed({ type: 'message', conn: 1, message: { type: 'notification', code: 6, subcode: 2, data: new Uint8Array() } });
  assert.deepEqual(closes(a), ['1:-'], 'no NOTIFICATION answers a NOTIFICATION');
  assert.equal(sim.s.lastError, 'peer sent NOTIFICATION 6/2 (cease: administrative shutdown)');
  assert.equal(sim.s.state, 'idle');
});

test('unexpected messages are FSM errors (5/x)', () => {
  const sim = new Sim();
  sim.feed({ type: 'start' });
  sim.feed({ type: 'tcp-connected', conn: 1 });
  assert.deepEqual(closes(sim.feed({ type: 'message', conn: 1, message: { type: 'keepalive' } })), ['1:5/1']);
  const est = new Sim();
  establish(est);
  assert.deepEqual(closes(est.feed({ type: 'message', conn: 1, message: peerOpen() })), ['1:5/3']);
});

test('failed dial: Active, retry after ConnectRetry (jittered), accepting the peer meanwhile', () => {
  const sim = new Sim();
  sim.feed({ type: 'start' });
  const a = sim.feed({ type: 'tcp-failed', conn: 1, reason: 'ECONNREFUSED' });
  assert.deepEqual(states(a), ['active']);
  assert.equal(sim.s.lastError, 'connect: ECONNREFUSED');
  const retry = sim.timerAt('connect-retry:')!;
  assert.ok(retry >= 3750 && retry <= 5000, `retry at ${retry}`);
  const b = sim.advance(5000);
  assert.ok(b.some((x) => x.type === 'connect' && x.conn === 2));
  // A dial that hangs is abandoned when ConnectRetry fires again.
  const c = sim.advance(5000);
  assert.deepEqual(closes(c), ['2:-']);
  assert.ok(c.some((x) => x.type === 'connect' && x.conn === 3));
});

test('passive peer: never dials; accepts, sends OPEN and establishes', () => {
  const sim = new Sim({ ...CFG, passive: true });
  const a = sim.feed({ type: 'start' });
  assert.ok(!a.some((x) => x.type === 'connect'));
  assert.equal(sim.s.state, 'active');
  assert.deepEqual(sim.advance(3_600_000), []);
  const b = sim.feed({ type: 'tcp-accepted' });
  assert.deepEqual(b.filter((x) => x.type === 'accept'), [{ type: 'accept', conn: 1 }]);
  assert.deepEqual(sends(b), ['1:open']);
  sim.feed({ type: 'message', conn: 1, message: peerOpen() });
  sim.feed({ type: 'message', conn: 1, message: { type: 'keepalive' } });
  assert.equal(sim.s.state, 'established');
  // A second connection while Established is refused: the existing session wins.
  assert.deepEqual(sim.feed({ type: 'tcp-accepted' }).map((x) => x.type), ['refuse']);
});

test('stopped or holding: incoming connections are refused', () => {
  const sim = new Sim({ ...CFG, passive: true });
  assert.deepEqual(sim.feed({ type: 'tcp-accepted' }).map((x) => x.type), ['refuse']);
  sim.feed({ type: 'start' });
  sim.feed({ type: 'tcp-accepted' });
  sim.feed({ type: 'decode-error', conn: 1, error: { code: 1, subcode: 1 }, reason: 'bad marker' });
  assert.equal(sim.s.state, 'idle');
  assert.deepEqual(sim.feed({ type: 'tcp-accepted' }).map((x) => x.type), ['refuse']);
  sim.advance(1000);
  assert.equal(sim.s.state, 'active');
  assert.deepEqual(sim.feed({ type: 'tcp-accepted' }).map((x) => x.type).slice(0, 1), ['accept']);
});

test('stop: Cease/Administrative Shutdown (6/2) on every open connection, no redial', () => {
  const sim = new Sim();
  establish(sim);
  const a = sim.feed({ type: 'stop' });
  assert.deepEqual(closes(a), ['1:6/2']);
  assert.equal(sim.s.state, 'idle');
  assert.deepEqual(sim.advance(3_600_000), []);
  assert.equal(sim.timers.size, 0, 'no timer left behind');
});

// Collision: we dial (conn 1, out) while the peer dials us (conn 2, in); both reach the OPEN.
function collide(localId: string, peerId: string): { sim: Sim; closed: string[]; kept: number } {
  const sim = new Sim({ ...CFG, routerId: localId });
  sim.feed({ type: 'start' });
  sim.feed({ type: 'tcp-connected', conn: 1 });
  sim.feed({ type: 'tcp-accepted' });
  assert.equal(sim.s.conns.length, 2);
  sim.feed({ type: 'message', conn: 1, message: peerOpen({ bgpId: peerId }) });
  const a = sim.feed({ type: 'message', conn: 2, message: peerOpen({ bgpId: peerId }) });
  return { sim, closed: closes(a), kept: sim.s.conns[0]!.id };
}

test('connection collision: the connection initiated by the higher BGP identifier survives (6/7 on the other)', () => {
  // Our id higher: keep ours (conn 1, out); the incoming one is closed.
  const high = collide('10.0.0.9', '10.0.0.1');
  assert.deepEqual(high.closed, ['2:6/7']);
  assert.equal(high.kept, 1);
  // Our id lower: keep the peer's (conn 2, in).
  const low = collide('10.0.0.1', '10.0.0.9');
  assert.deepEqual(low.closed, ['1:6/7']);
  assert.equal(low.kept, 2);
  assert.equal(low.sim.s.state, 'openconfirm');
  // Identifiers compare as numbers, not text: 9.0.0.0 < 10.0.0.0.
  const numeric = collide('9.0.0.0', '10.0.0.0');
  assert.equal(numeric.kept, 2);
  // The survivor establishes; no backoff was triggered by the collision.
  low.sim.feed({ type: 'message', conn: 2, message: { type: 'keepalive' } });
  assert.equal(low.sim.s.state, 'established');
  assert.equal(low.sim.s.failures, 0);
});

test('route refresh asks for the Adj-RIB-Out again; UPDATEs and KEEPALIVEs restart the hold timer', () => {
  const sim = new Sim();
  establish(sim);
  sim.advance(8000);
  sim.feed({ type: 'message', conn: 1, message: { type: 'update', withdrawn: [], attributes: {}, nlri: [] } });
  assert.equal(sim.timerAt('hold:1'), sim.now + 9000);
  const a = sim.feed({ type: 'message', conn: 1, message: { type: 'route-refresh', afi: 1, safi: 1 } });
  assert.deepEqual(a.filter((x) => x.type === 'refresh'), [{ type: 'refresh', conn: 1, afi: 1, safi: 1 }]);
});

test('the same timeline gives the same actions (pure, seeded jitter)', () => {
  const run = (): Action[] => {
    const sim = new Sim();
    establish(sim);
    sim.advance(20_000);
    sim.advance(120_000);
    return sim.log;
  };
  assert.deepEqual(run(), run());
});
