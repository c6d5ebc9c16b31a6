// BgpSpeaker against a scripted misbehaving peer (test/netns/fixtures/bgp-raw-peer.ts) in a router
// namespace: malformed messages get the NOTIFICATION the RFC asks for and the session comes back
// after its backoff; a peer flooding UPDATEs does not starve the speaker's event loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denoArgv, tsxArgv } from '../../scripts/kit/netns.ts';
import { bgpPair, events, lastStatus, ROUTER_AS, ROUTER_IP, speakerPeer } from './fixtures/bgp-kit.ts';
import { waitFor } from '../../scripts/kit/wait.ts';

const FIXTURE = 'test/netns/fixtures/bgp-speaker-fixture.ts';
const RAW_PEER = 'test/netns/fixtures/bgp-raw-peer.ts';

test('malformed messages: bad marker -> NOTIFICATION 1/1, broken attribute list -> 3/1; each time the session comes back', async (t) => {
  const p = await bgpPair(t);
  const raw = p.router.spawn(tsxArgv(RAW_PEER, ROUTER_IP, '179', String(ROUTER_AS), ROUTER_IP, 'bad-marker,bad-update,ok'));
  await raw.waitForLine(/"listening"/, 30_000);
  const sp = p.speaker.spawn(tsxArgv(FIXTURE, JSON.stringify({ peers: [speakerPeer({ connectRetry: 2 })], routes: ['192.0.2.50/32'] })));
  const third = await waitFor('the third connection to be established', async () => events(raw).some((e) => e.event === 'established' && e['conn'] === 3), 30_000);
  assert.ok(third);
  const notes = events(raw).filter((e) => e.event === 'notification');
  assert.deepEqual(
    notes.map((e) => `${String(e['conn'])}:${String(e['code'])}/${String(e['subcode'])}`),
    ['1:1/1', '2:3/1'],
  );
  await waitFor('our status to say established again', async () => lastStatus(sp)?.state === 'established');
  // The statuses on the way said why each time.
  const errors = [...new Set(events(sp).flatMap((e) => (e.event === 'status' && e.lastError ? [e.lastError] : [])))];
  assert.ok(errors.some((e) => /sent NOTIFICATION 1\/1: .*marker/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /sent NOTIFICATION 3\/1: /.test(e)), errors.join('\n'));
  // The healthy third session got our route.
  await waitFor('our route on the third connection', async () => events(raw).some((e) => e.event === 'update' && e['conn'] === 3 && (e['nlri'] as number) === 1));
});

for (const [runtime, argvFor] of [
  ['Node', tsxArgv],
  ['Deno', denoArgv],
] as const) {
  test(`${runtime}: a peer flooding UPDATEs: the session stays up, every UPDATE is counted, timers keep running`, async (t) => {
  const p = await bgpPair(t);
  const count = 200_000;
  const raw = p.router.spawn(tsxArgv(RAW_PEER, ROUTER_IP, '179', String(ROUTER_AS), ROUTER_IP, 'flood'), { env: { FLOOD_COUNT: String(count) } });
  await raw.waitForLine(/"listening"/, 30_000);
  const sp = p.speaker.spawn(argvFor(FIXTURE, JSON.stringify({ peers: [speakerPeer()] }), '--ticks'));
  await raw.waitForLine(/"flooded"/, 60_000);
  const st = await waitFor(
    'every UPDATE counted',
    async () => {
      sp.write('{"cmd":"status"}\n');
      const s = events(sp).filter((e) => e.event === 'statuses').at(-1)?.['statuses'] as { messages: { received: { update: number } }; state: string }[] | undefined;
      return s?.[0] && s[0].messages.received.update >= count ? s[0] : undefined;
    },
    60_000,
    500,
  );
  assert.equal(st.state, 'established');
  assert.equal(st.messages.received.update, count);
  // The 20 ms interval was never held up for long: reading yields between batches.
  const worst = Math.max(...events(sp).filter((e) => e.event === 'tick').map((e) => e['gapMs'] as number));
  t.diagnostic(`worst timer lateness during the flood: ${worst} ms`);
  assert.ok(worst < 500, `the event loop stalled for ${worst} ms during the flood`);
});
}

test('a throwing nextHop callback (a caller bug) is logged; the process and the session survive', async (t) => {
  const p = await bgpPair(t);
  const raw = p.router.spawn(tsxArgv(RAW_PEER, ROUTER_IP, '179', String(ROUTER_AS), ROUTER_IP, 'ok'));
  await raw.waitForLine(/"listening"/, 30_000);
  const sp = p.speaker.spawn(tsxArgv(FIXTURE, JSON.stringify({ peers: [speakerPeer()], routes: ['192.0.2.90/32'], nextHops: { '4': 'throw' } })));
  await waitFor('established', async () => lastStatus(sp)?.state === 'established');
  await waitFor('the hook failure logged', async () => events(sp).some((e) => e.event === 'log' && /hook established failed/.test(String(e['msg']))));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(sp.result, null, `the speaker exited: ${sp.stderr}`);
  assert.equal(lastStatus(sp)!.state, 'established');
});
