// The pure parts around the beacons: speaker flags, the key Secret's data, the MAC annotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SPEAKER_TIMINGS, beaconTimingProblems, speakerConfig, speakerFlags } from '../../../src/cli/speaker.ts';
import { parseFlags } from '../../../src/cli/flags.ts';
import { beaconKeysFromSecret } from '../../../src/kube/beacon-key.ts';
import { formatMacs, parseMacs } from '../../../src/speaker/liveness.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('speaker defaults meet the goals: beacons 100 ms / 500 ms, membership 10 s / 40 s (0.1 writes/s), IPAM <= 0.5 writes/s', () => {
  const cfg = speakerConfig(parseFlags(speakerFlags, ['--node-name', 'n1']).values);
  assert.deepEqual(cfg.beacons, { enabled: true, intervalMs: 100, deadlineMs: 500, keySecret: 'openelb-beacon-key' });
  assert.ok(1000 / cfg.membership.retryPeriodMs <= 0.1);
  assert.ok(1000 / cfg.ipam.retryPeriodMs <= 0.5);
  assert.equal(cfg.membership.leaseDurationMs, SPEAKER_TIMINGS.membership.leaseDurationMs);
});

test('bad beacon timings are refused with a message naming the flags', () => {
  assert.deepEqual(beaconTimingProblems({ intervalMs: 100, deadlineMs: 500 }, 40_000), []);
  assert.match(beaconTimingProblems({ intervalMs: 100, deadlineMs: 200 }, 40_000)[0]!, /at least 3 beacon intervals/);
  assert.match(beaconTimingProblems({ intervalMs: 5, deadlineMs: 500 }, 40_000)[0]!, /from 10 to 60000/);
  assert.match(beaconTimingProblems({ intervalMs: 100, deadlineMs: 50_000 }, 40_000)[0]!, /below the membership Lease duration/);
  assert.throws(() => speakerConfig(parseFlags(speakerFlags, ['--node-name', 'n1', '--beacon-deadline-ms', '150']).values), /--beacon-\*-ms flags/);
  // With beacons off the beacon flags are not judged.
  assert.doesNotThrow(() => speakerConfig(parseFlags(speakerFlags, ['--node-name', 'n1', '--enable-beacons=false', '--beacon-deadline-ms', '150']).values));
});

test('key Secret: current signs; next and previous are accepted too; a short or missing key is a clear problem', () => {
  const k = beaconKeysFromSecret({ data: { current: b64('a'.repeat(32)), next: b64('b'.repeat(32)), previous: b64('c'.repeat(32)) } }, 'ns/openelb-beacon-key');
  assert.ok(!('problem' in k));
  assert.equal(k.accepted.length, 3);
  assert.equal(k.accepted[0], k.signing);
  const short = beaconKeysFromSecret({ data: { current: b64('short') } }, 'ns/openelb-beacon-key');
  assert.ok('problem' in short && /Secret ns\/openelb-beacon-key has 5 bytes/.test(short.problem));
  const none = beaconKeysFromSecret({ data: {} }, 'ns/openelb-beacon-key');
  assert.ok('problem' in none && /no data key "current"/.test(none.problem));
});

test('MAC annotation round-trips, sorted by NIC', () => {
  const m = new Map([['eth1', '52:54:00:00:00:02'], ['eth0', '52:54:00:00:00:01']]);
  assert.equal(formatMacs(m), 'eth0=52:54:00:00:00:01,eth1=52:54:00:00:00:02');
  assert.deepEqual([...parseMacs(formatMacs(m))], [['eth0', '52:54:00:00:00:01'], ['eth1', '52:54:00:00:00:02']]);
});
