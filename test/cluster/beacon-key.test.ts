// The beacon key Secret on a real kube-apiserver, as the speaker's ServiceAccount with exactly
// deploy/rbac.yaml: the first speaker creates it with a random key, the others read the same key;
// rotation through `next` -> `current` -> `previous` is picked up without a gap.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { BeaconKeySource, DEFAULT_BEACON_KEY_SECRET } from '../../src/kube/beacon-key.ts';
import { beaconKeyId } from '../../src/l2/beacon-auth.ts';
import { controlPlane } from '../../scripts/kit/control-plane.ts';

const cp = await controlPlane();
after(() => cp.stop());
const NS = 'openelb-system';
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function waitFor<T>(get: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the first speaker creates the key; peers read the same one; rotation next -> current -> previous is followed', async (t) => {
  const admin = cp.adminConfig().makeApiClient(CoreV1Api);
  await admin.deleteNamespacedSecret({ namespace: NS, name: DEFAULT_BEACON_KEY_SECRET }).catch(() => undefined);
  const speaker = new KubeClient(cp.speakerConfig());
  const a = new BeaconKeySource({ client: speaker, namespace: NS, pollMs: 200 });
  const b = new BeaconKeySource({ client: speaker, namespace: NS, pollMs: 200 });
  t.after(() => {
    a.stop();
    b.stop();
  });
  a.start();
  b.start();
  const ka = await waitFor(() => a.keys(), 'speaker a to load a key');
  const kb = await waitFor(() => b.keys(), 'speaker b to load a key');
  assert.equal(ka.signing.id, kb.signing.id, 'both speakers sign with the same key');
  const secret = await admin.readNamespacedSecret({ namespace: NS, name: DEFAULT_BEACON_KEY_SECRET });
  const current = Buffer.from(secret.data!.current!, 'base64');
  assert.equal(current.length, 32, 'a 32-byte random key');
  assert.equal(beaconKeyId(new Uint8Array(current)), ka.signing.id);

  // Rotation step 1: a new key as `next` is accepted, not yet signed with.
  const next = 'n'.repeat(32);
  await admin.patchNamespacedSecret({ namespace: NS, name: DEFAULT_BEACON_KEY_SECRET, body: [{ op: 'add', path: '/data/next', value: b64(next) }] });
  const nextId = beaconKeyId(new TextEncoder().encode(next));
  await waitFor(() => (a.keys()!.accepted.some((k) => k.id === nextId) ? true : undefined), 'next key accepted');
  assert.equal(a.keys()!.signing.id, ka.signing.id);
  // Step 2: promote.
  await admin.replaceNamespacedSecret({
    namespace: NS,
    name: DEFAULT_BEACON_KEY_SECRET,
    body: { metadata: { name: DEFAULT_BEACON_KEY_SECRET }, data: { current: b64(next), previous: secret.data!.current! } },
  });
  await waitFor(() => (a.keys()!.signing.id === nextId ? true : undefined), 'signing with the promoted key');
  assert.ok(a.keys()!.accepted.some((k) => k.id === ka.signing.id), 'the previous key is still accepted');
  // A broken Secret keeps the last good keys and says why.
  await admin.replaceNamespacedSecret({ namespace: NS, name: DEFAULT_BEACON_KEY_SECRET, body: { metadata: { name: DEFAULT_BEACON_KEY_SECRET }, data: { current: b64('short') } } });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(a.keys()!.signing.id, nextId, 'last good key kept');
  await admin.deleteNamespacedSecret({ namespace: NS, name: DEFAULT_BEACON_KEY_SECRET });
});
