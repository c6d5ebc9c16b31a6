// The lab's independent check "exactly one MAC answers" (answeringMacs, behind SeedLab.arpingAll)
// must be able to fail: with two hosts answering one address it has to report both MACs. The
// answerers here are plain kernels on a bridge, so nothing of the project decides who answers.
// (It used `arping -c 1 -w W`, which exits at the first reply: it reported one MAC for two
// answerers, so every "exactly one node answers" assertion in the lab passed whatever happened.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, answeringMacs } from '../../scripts/kit/netns.ts';

const MAC_A = '02:00:5e:10:00:0a';
const MAC_B = '02:00:5e:10:00:0b';

test('answeringMacs reports every MAC that answers (IPv4 and IPv6), one when one answers, none when none does', { timeout: 60_000 }, async (t) => {
  const lab = await Lab.create(t);
  const sw = await lab.bridge();
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  const client = await lab.namespace('client');
  await lab.attach(sw, a, 'eth0', { mac: MAC_A, addr: ['10.77.0.1/24', 'fd00:77::1/64'] });
  await lab.attach(sw, b, 'eth0', { mac: MAC_B, addr: ['10.77.0.1/24', 'fd00:77::1/64', '10.77.0.9/24'] });
  await lab.attach(sw, client, 'eth0', { addr: ['10.77.0.2/24', 'fd00:77::2/64'] });

  // Both kernels own .1 and fd00:77::1: two answers to one request.
  assert.deepEqual((await answeringMacs(client, 'eth0', '10.77.0.1')).sort(), [MAC_A, MAC_B]);
  assert.deepEqual((await answeringMacs(client, 'eth0', 'fd00:77::1')).sort(), [MAC_A, MAC_B]);
  // Only b owns .9: one answer, listed once although arping gets two replies from it.
  assert.deepEqual(await answeringMacs(client, 'eth0', '10.77.0.9'), [MAC_B]);
  // Nobody owns .50.
  assert.deepEqual(await answeringMacs(client, 'eth0', '10.77.0.50', 1), []);
  assert.deepEqual(await answeringMacs(client, 'eth0', 'fd00:77::50', 1), []);
});
