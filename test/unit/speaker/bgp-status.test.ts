// BGP status entries, merge patches of one node's key, and the write rate rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerConfig, PeerStatus } from '../../../src/speaker/bgp-speaker-api.ts';
import { mergePatchDiff, notConfiguredEntry, peerStatusEntry, readyCondition, rearmTimer, writeDue } from '../../../src/speaker/bgp-status.ts';

const cfg: PeerConfig = { name: 'bgp-peer', neighborAddress: '192.168.0.5', peerAs: 50001, localAs: 50000, routerId: '192.168.0.3', families: ['ipv4-unicast'], holdTime: 9 };
const counts = (n: number) => ({ open: 1, update: n, notification: 0, keepalive: 2 * n, refresh: 0, total: 1 + 3 * n });
const established = (updates = 3): PeerStatus => ({
  name: 'bgp-peer',
  neighborAddress: '192.168.0.5',
  state: 'established',
  since: Date.parse('2026-01-01T10:00:00Z'),
  uptimeStart: Date.parse('2026-01-01T10:00:00Z'),
  negotiatedHoldTime: 9,
  messages: { sent: counts(updates), received: counts(1) },
});

test('peer entry: upstream\'s names and shapes (gobgp PeerState/TimersState, counts as strings)', () => {
  assert.deepEqual(peerStatusEntry(cfg, established()), {
    peerState: {
      neighborAddress: '192.168.0.5',
      peerAs: 50001,
      localAs: 50000,
      sessionState: 'ESTABLISHED',
      adminState: 'UP',
      messages: {
        received: { open: '1', update: '1', notification: '0', keepalive: '2', refresh: '0', total: '4' },
        sent: { open: '1', update: '3', notification: '0', keepalive: '6', refresh: '0', total: '10' },
      },
    },
    timersState: { uptime: '2026-01-01T10:00:00Z', negotiatedHoldTime: '9', holdTime: '9' },
  });
  const down = peerStatusEntry({ ...cfg, adminDown: true }, { ...established(), state: 'active', uptimeStart: undefined, negotiatedHoldTime: undefined, since: Date.parse('2026-01-01T11:00:00Z'), lastError: 'TCP MD5 signature mismatch' });
  assert.equal((down.peerState as { sessionState: string }).sessionState, 'ACTIVE');
  assert.equal((down.peerState as { adminState: string }).adminState, 'DOWN');
  assert.deepEqual(down.timersState, { downtime: '2026-01-01T11:00:00Z', holdTime: '9' });
  assert.equal(down.lastError, 'TCP MD5 signature mismatch');
  assert.equal(JSON.stringify(peerStatusEntry({ ...cfg, authPassword: 'secret' }, established())).includes('secret'), false, 'no password in status');
  assert.deepEqual(notConfiguredEntry('why'), { peerState: { sessionState: 'IDLE' }, lastError: 'why' });
});

test('merge patch of one key: changed leaves, nulls for what went away, nothing when equal', () => {
  const a = peerStatusEntry(cfg, established());
  assert.equal(mergePatchDiff(a, peerStatusEntry(cfg, established())), undefined);
  const b = peerStatusEntry(cfg, { ...established(), state: 'idle', since: Date.parse('2026-01-01T12:00:00Z'), lastError: 'hold timer expired' });
  assert.deepEqual(mergePatchDiff(a, b), {
    peerState: { sessionState: 'IDLE' },
    timersState: { uptime: null, negotiatedHoldTime: null, downtime: '2026-01-01T12:00:00Z' },
    lastError: 'hold timer expired',
  });
  assert.equal(mergePatchDiff(a, undefined), null, 'removing the key');
  assert.deepEqual(mergePatchDiff(undefined, { as: 1 }), { as: 1 });
});

test('write rate: state changes at once (at most once per second), counters at most once a minute', () => {
  const stored = peerStatusEntry(cfg, established(3));
  const moreUpdates = peerStatusEntry(cfg, established(4));
  const down = peerStatusEntry(cfg, { ...established(), state: 'idle' });
  const t = 1_000_000;
  assert.equal(writeDue(stored, stored, t - 5, t), 'none');
  assert.equal(writeDue(undefined, stored, undefined, t), 'now', 'first write');
  assert.equal(writeDue(stored, down, t - 5000, t), 'now', 'state change');
  assert.deepEqual(writeDue(stored, down, t - 400, t), { at: t + 600 }, 'state change right after a write: within a second');
  assert.deepEqual(writeDue(stored, moreUpdates, t - 5000, t), { at: t + 55_000 }, 'counters only: a minute after the last write');
  assert.equal(writeDue(stored, moreUpdates, t - 60_000, t), 'now');
  assert.equal(writeDue(stored, moreUpdates, undefined, t), 'now', 'nothing written by this process yet');
  // A router that is down: the session retries, CONNECT <-> ACTIVE every second, with new
  // downtimes and errors: that is refreshed once a minute, not written each second by every node.
  const retrying = (state: 'connect' | 'active', since: number, lastError: string) =>
    peerStatusEntry(cfg, { ...established(), state, since, uptimeStart: undefined, negotiatedHoldTime: undefined, lastError });
  const r1 = retrying('connect', t - 2000, 'connect: Connection refused');
  assert.deepEqual(writeDue(r1, retrying('active', t - 1000, 'connect: Connection refused'), t - 5000, t), { at: t + 55_000 });
  assert.deepEqual(writeDue(r1, retrying('connect', t, 'connect: timed out'), t - 5000, t), { at: t + 55_000 });
  assert.equal(writeDue(r1, stored, t - 5000, t), 'now', 'established again: at once');
  assert.equal(writeDue(stored, r1, t - 5000, t), 'now', 'went down: at once');
});

test('deferred writes: the earliest due time wins (a pending counter refresh does not hold back ESTABLISHED)', () => {
  const t = 1_000_000;
  assert.equal(rearmTimer(undefined, t + 1000), true);
  // CONNECT written, ACTIVE deferred a minute, then ESTABLISHED within the second: due at t+1000.
  assert.equal(rearmTimer(t + 60_000, t + 1000), true);
  assert.equal(rearmTimer(t + 1000, t + 60_000), false);
  assert.equal(rearmTimer(t + 1000, t + 1000), false);
});

test('Ready condition from object-scoped findings; node-scoped ones stay out of it', () => {
  const f = (reason: string, severity: 'error' | 'warning', scope: 'object' | 'node' = 'object') => ({ kind: 'BgpPeer' as const, name: 'p', scope, severity, reason, message: `BgpPeer p: ${reason}` });
  assert.deepEqual(readyCondition('BgpPeer', 'p', []), { type: 'Ready', status: 'True', reason: 'Ready', message: 'BgpPeer p is configured on the nodes it selects' });
  assert.deepEqual(readyCondition('BgpPeer', 'p', [f('UnsupportedFamily', 'warning'), f('NoPeerAS', 'error')]), { type: 'Ready', status: 'False', reason: 'NoPeerAS', message: 'BgpPeer p: UnsupportedFamily; BgpPeer p: NoPeerAS' });
  assert.equal(readyCondition('BgpPeer', 'p', [f('UnsupportedFamily', 'warning')]).status, 'True');
  assert.equal(readyCondition('BgpPeer', 'p', [f('DuplicateNeighbor', 'error', 'node')]).reason, 'Ready');
  assert.equal(readyCondition('BgpConf', 'p', [f('NoPeerAS', 'error')]).reason, 'Ready', 'another kind');
});
