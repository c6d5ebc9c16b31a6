// The kubelet stand-in's mapping from the DaemonSet (deploy/openelb.yaml, the real one) to
// `podman run`: every securityContext field the README promises, the downward API, $(VAR)
// expansion, and clear refusals for what the lab does not model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../scripts/kit/netns.ts';
import { expandVars, podmanRunArgs, quantityBytes, resolveEnv, securityFlags, speakerPodFrom, type RunContext } from '../../../scripts/image/pod.ts';
import { localImageRef } from '../../../scripts/lab/image-runtime.ts';
import { parseLdd } from '../../../scripts/image/stage.ts';

const manifest = readFileSync(join(REPO_ROOT, 'deploy/openelb.yaml'), 'utf8');
const ctx: RunContext = {
  containerName: 'c1',
  nodeName: 'worker-p001',
  podName: 'openelb-speaker-worker-p001',
  podNamespace: 'lab-x-system',
  hostIP: '192.168.0.3',
  serviceAccountName: 'openelb-speaker',
  netnsPath: '/run/netns/n2',
  serviceAccountDir: '/tmp/sa',
  apiHost: '127.0.0.1',
  apiPort: 6443,
};

/** The value following each occurrence of flag. */
const values = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));

test('the DaemonSet in deploy/openelb.yaml maps to the pod a kubelet would run', () => {
  const pod = speakerPodFrom(manifest);
  assert.equal(pod.daemonSet, 'openelb-ts-speaker');
  assert.equal(pod.namespace, 'openelb-system');
  assert.equal(pod.serviceAccountName, 'openelb-speaker');
  const argv = podmanRunArgs(pod, ctx);
  const sc = pod.container.securityContext!;
  // securityContext, field by field, as the manifest says it.
  assert.deepEqual(values(argv, '--user'), [String(sc.runAsUser)]);
  assert.equal(argv.includes('no-new-privileges'), sc.allowPrivilegeEscalation === false);
  assert.equal(argv.includes('--read-only'), sc.readOnlyRootFilesystem === true);
  assert.ok(argv.includes('--read-only-tmpfs=false'), 'a kubelet mounts no tmpfs on /tmp');
  assert.deepEqual(values(argv, '--cap-drop'), (sc.capabilities?.drop ?? []).map((c) => (c === 'ALL' ? 'ALL' : `CAP_${c}`)));
  assert.deepEqual(values(argv, '--cap-add'), (sc.capabilities?.add ?? []).map((c) => `CAP_${c}`));
  assert.ok(!argv.includes('--privileged'));
  // host network = the node's namespace; credentials and the API server's Service.
  assert.deepEqual(values(argv, '--network'), ['ns:/run/netns/n2']);
  assert.deepEqual(values(argv, '--volume'), ['/tmp/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro']);
  const env = values(argv, '--env');
  assert.ok(env.includes('KUBERNETES_SERVICE_HOST=127.0.0.1') && env.includes('KUBERNETES_SERVICE_PORT=6443'));
  assert.ok(env.includes('NODE_NAME=worker-p001'), 'downward API spec.nodeName');
  assert.ok(env.includes('OPENELB_NAMESPACE=lab-x-system'), 'downward API metadata.namespace');
  // command and args, unchanged; the image the manifest names.
  assert.deepEqual(values(argv, '--entrypoint'), [JSON.stringify(pod.container.command)]);
  const image = argv.indexOf(pod.container.image!);
  assert.deepEqual(argv.slice(image + 1), pod.container.args);
  assert.deepEqual(values(argv, '--memory'), [String(quantityBytes(String(pod.container.resources!.limits!.memory)))]);
});

test('args can be replaced (doctor) or extended, and $(VAR) expands from the container env', () => {
  const pod = speakerPodFrom(manifest);
  const doctor = podmanRunArgs(pod, { ...ctx, args: ['doctor'] });
  assert.deepEqual(doctor.slice(doctor.indexOf(pod.container.image!) + 1), ['doctor']);
  const custom = { ...pod, container: { ...pod.container, args: ['speaker', '--node-name=$(NODE_NAME)', '$$(NODE_NAME)', '$(UNSET)'] } };
  const argv = podmanRunArgs(custom, { ...ctx, extraArgs: ['--log-level', 'debug'] });
  assert.deepEqual(argv.slice(argv.indexOf(pod.container.image!) + 1), ['speaker', '--node-name=worker-p001', '$(NODE_NAME)', '$(UNSET)', '--log-level', 'debug']);
  assert.equal(expandVars('a$(X)b', new Map([['X', '1']])), 'a1b');
});

test('what the lab does not model is refused with the field named', () => {
  assert.throws(() => resolveEnv([{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }], ctx, true), /fieldRef metadata\.uid/);
  assert.throws(() => resolveEnv([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], ctx, true), /env X: only value and valueFrom\.fieldRef/);
  assert.throws(() => securityFlags({ seccompProfile: { type: 'Localhost' } }), /Localhost/);
  assert.deepEqual(resolveEnv([{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], ctx, true), [['IP', '192.168.0.3']]);
  assert.throws(() => quantityBytes('lots'), /memory quantity "lots"/);
  assert.equal(quantityBytes('256Mi'), 268435456);
  assert.throws(() => speakerPodFrom('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'), /exactly one DaemonSet/);
});

test('image references: a short name is podman\'s localhost/ image, a registry one stays', () => {
  assert.equal(localImageRef('openelb-ts:0.1.0'), 'localhost/openelb-ts:0.1.0');
  assert.equal(localImageRef('registry.example.com/openelb-ts:0.1.0'), 'registry.example.com/openelb-ts:0.1.0');
  assert.equal(localImageRef('localhost/openelb-ts:0.1.0'), 'localhost/openelb-ts:0.1.0');
});

test('ldd output: libraries and the interpreter, vdso skipped, a missing library refused', () => {
  const out = `\tlinux-vdso.so.1 (0x00007ffd)\n\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n`;
  assert.deepEqual(parseLdd(out, 'node'), ['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n', 'node'), /node needs a library this machine lacks: libfoo\.so\.1 => not found/);
});
