// The cluster key that authenticates segment beacons (src/l2/beacon-auth.ts): a Secret in the
// speakers' namespace, `openelb-beacon-key` by default, read by every speaker.
//
// Created at install time by the speakers themselves: a speaker that finds no Secret creates one
// with 32 random bytes (create fails with AlreadyExists for all but the first, who then read it).
// So `kubectl apply -f deploy/openelb.yaml` is the whole install, and the key never sits in a
// manifest or a Git repository. RBAC: `get` on that one Secret by name, and `create` on Secrets
// in the speakers' namespace (Kubernetes cannot restrict create by name; create reveals nothing).
//
// Rotation without a gap, all with kubectl on the Secret's data keys:
//   1. add the new key as `next` (accepted by receivers, not yet used to sign);
//   2. after every speaker has re-read it (the poll period, 30 s by default), move `current` to
//      `previous` and `next` to `current` (now signed with, the old one still accepted);
//   3. after another period, delete `previous`.
// Receivers accept any of current/next/previous, so beacons keep verifying at every step.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { type BeaconKey, beaconKey } from '../l2/beacon-auth.ts';
import { log } from '../log.ts';
import type { KubeClient } from './client.ts';
import { describeError, isAlreadyExists, isNotFound, statusCodeOf } from './errors.ts';

export const DEFAULT_BEACON_KEY_SECRET = 'openelb-beacon-key';
export const KEY_CURRENT = 'current';
export const KEY_NEXT = 'next';
export const KEY_PREVIOUS = 'previous';
const MIN_KEY_BYTES = 16;

export interface BeaconKeys {
  /** The key beacons are signed with. */
  signing: BeaconKey;
  /** Keys received beacons may be signed with (signing first). */
  accepted: BeaconKey[];
}

/** Secret data -> keys, or a message naming the Secret and the fix. Pure. */
export function beaconKeysFromSecret(secret: Pick<V1Secret, 'data'>, where: string): BeaconKeys | { problem: string } {
  const data = secret.data ?? {};
  const decode = (k: string): Uint8Array | undefined | string => {
    const b64 = data[k];
    if (b64 === undefined || b64 === '') return undefined;
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    if (bytes.length < MIN_KEY_BYTES) return `data key "${k}" of Secret ${where} has ${bytes.length} bytes; a beacon key needs at least ${MIN_KEY_BYTES} (e.g. \`head -c 32 /dev/urandom\`)`;
    return bytes;
  };
  const cur = decode(KEY_CURRENT);
  if (cur === undefined) return { problem: `Secret ${where} has no data key "${KEY_CURRENT}": add one (32 random bytes), or delete the Secret and the speakers make a new one` };
  if (typeof cur === 'string') return { problem: cur };
  const signing = beaconKey(cur);
  const accepted = [signing];
  for (const k of [KEY_NEXT, KEY_PREVIOUS]) {
    const v = decode(k);
    if (typeof v === 'string') log.warn('beacon key: ignoring a rotation key', { problem: v });
    else if (v && !accepted.some((a) => a.id === beaconKey(v).id)) accepted.push(beaconKey(v));
  }
  return { signing, accepted };
}

export interface BeaconKeySourceOptions {
  client: KubeClient;
  namespace: string;
  secretName?: string;
  /** How often the Secret is read again (rotation takes effect within this). Default 30 s. */
  pollMs?: number;
  /** Create the Secret with a random key when it is missing. Default true. */
  createIfMissing?: boolean;
}

/** Keeps the current beacon keys, reading the Secret now and every pollMs. */
export class BeaconKeySource {
  private current: BeaconKeys | undefined;
  private lastProblem: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  private stopped = false;
  readonly secretName: string;

  constructor(private readonly o: BeaconKeySourceOptions) {
    this.secretName = o.secretName ?? DEFAULT_BEACON_KEY_SECRET;
  }

  /** The keys, or undefined while none could be loaded (beacons are then off: Lease-only liveness). */
  keys(): BeaconKeys | undefined {
    return this.current;
  }

  /** Why there are no keys (for logs, /readyz detail and doctor), undefined when there are. */
  problem(): string | undefined {
    return this.current ? undefined : this.lastProblem ?? 'beacon key not loaded yet';
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private where(): string {
    return `${this.o.namespace}/${this.secretName}`;
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.load();
    } catch (err) {
      this.problemIs(`cannot read Secret ${this.where()}: ${describeError(err)}`);
    }
    if (this.stopped) return;
    // Until a key is loaded, retry sooner: beacons are off meanwhile.
    const next = this.current ? this.o.pollMs ?? 30_000 : Math.min(this.o.pollMs ?? 30_000, 2000);
    this.timer = setTimeout(() => void this.poll(), next);
    this.timer.unref?.();
  }

  private async load(): Promise<void> {
    const client = this.o.client;
    const ns = this.o.namespace;
    const name = this.secretName;
    const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`;
    let secret: V1Secret;
    try {
      secret = await client.get<V1Secret>(`${path}/${encodeURIComponent(name)}`, { timeoutMs: 5000 });
    } catch (err) {
      if (!isNotFound(err)) {
        const code = statusCodeOf(err);
        if (code === 403) return this.problemIs(`not allowed to read Secret ${this.where()}: grant get on secrets/${name} (deploy/rbac.yaml)`);
        throw err;
      }
      if (this.o.createIfMissing === false) return this.problemIs(`Secret ${this.where()} does not exist: create it with \`kubectl -n ${ns} create secret generic ${name} --from-file=${KEY_CURRENT}=<(head -c 32 /dev/urandom)\``);
      try {
        secret = await client.create<V1Secret>(
          path,
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name, labels: { 'app.kubernetes.io/name': 'openelb-ts' } },
            type: 'Opaque',
            data: { [KEY_CURRENT]: Buffer.from(randomBytes(32)).toString('base64') },
          },
          { timeoutMs: 5000 },
        );
        log.info('beacon key: created Secret with a random key', { secret: this.where() });
      } catch (e) {
        if (isAlreadyExists(e)) return this.load(); // another speaker was first
        if (statusCodeOf(e) === 403) return this.problemIs(`Secret ${this.where()} does not exist and this speaker may not create it: create it with \`kubectl -n ${ns} create secret generic ${name} --from-file=${KEY_CURRENT}=<(head -c 32 /dev/urandom)\``);
        throw e;
      }
    }
    const keys = beaconKeysFromSecret(secret, this.where());
    if ('problem' in keys) return this.problemIs(keys.problem);
    const changed = !this.current || this.current.signing.id !== keys.signing.id || this.current.accepted.map((k) => k.id).join() !== keys.accepted.map((k) => k.id).join();
    this.current = keys;
    if (changed) {
      log.info('beacon key loaded', { secret: this.where(), keys: keys.accepted.length });
      this.emit();
    }
  }

  private problemIs(p: string): void {
    if (p !== this.lastProblem) log.warn('beacon key unavailable; peers are judged by their Leases alone', { problem: p });
    this.lastProblem = p;
    // A key we had stays in use: a Secret read failing now and then must not switch beacons off.
  }

  private emit(): void {
    for (const cb of this.listeners) {
      try {
        cb();
      } catch (err) {
        log.error('beacon key listener threw', { error: describeError(err) });
      }
    }
  }
}
