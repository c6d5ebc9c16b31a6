// Beacon authentication: HMAC-SHA-256 with a cluster key, over the sender's MAC and the payload up
// to the tag. Without the key a host on the LAN can neither fake a live speaker nor keep a dead
// one alive by forging beacons; binding the sender's MAC means a captured beacon re-sent from
// another MAC fails too (and the MAC a verified beacon came from is known to be that speaker's).
// Replays from the same MAC are rejected by the sequence/incarnation rules in speaker/alive-set.ts.
//
// Keys rotate without a gap: a receiver verifies with any key it holds (current, next, previous),
// chosen by the key id in the beacon; a sender signs with the current one.
// node:crypto exists on Node and Deno alike.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Beacon, type BeaconRejectReason, BEACON_TAG_LENGTH, decode, encode } from './beacon.ts';

/** First 4 bytes of SHA-256(key), as an unsigned integer: names a key without revealing it. */
export function beaconKeyId(key: Uint8Array): number {
  const d = createHash('sha256').update(key).digest();
  return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
}

function tagOf(key: Uint8Array, srcMac: Uint8Array, authenticated: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(srcMac).update(authenticated).digest());
}

/** A key with its id computed once (ids are compared for every beacon received). */
export interface BeaconKey {
  id: number;
  bytes: Uint8Array;
}

export function beaconKey(bytes: Uint8Array): BeaconKey {
  return { id: beaconKeyId(bytes), bytes };
}

/** Encodes `b` with its key id and tag filled in from `key`, as sent from `srcMac`. */
export function signBeacon(b: Omit<Beacon, 'tag' | 'keyId'>, key: BeaconKey, srcMac: Uint8Array): Uint8Array {
  const payload = encode({ ...b, keyId: key.id, tag: new Uint8Array(BEACON_TAG_LENGTH) });
  const at = payload.length - BEACON_TAG_LENGTH;
  payload.set(tagOf(key.bytes, srcMac, payload.subarray(0, at)), at);
  return payload;
}

export type VerifiedBeacon =
  | { ok: true; value: Beacon }
  | { ok: false; reason: BeaconRejectReason | 'unknown-key' | 'bad-tag' };

/**
 * Decodes and authenticates a beacon payload received from `srcMac` with any of `keys`.
 * 'unknown-key': no key we hold has the beacon's key id (a speaker of another cluster, or a key
 * we have not loaded yet); 'bad-tag': the key id matches but the tag does not (forged or altered).
 */
export function verifyBeacon(payload: Uint8Array, srcMac: Uint8Array, keys: readonly BeaconKey[]): VerifiedBeacon {
  const d = decode(payload);
  if (!d.ok) return d;
  const key = keys.find((k) => k.id === d.value.keyId);
  if (!key) return { ok: false, reason: 'unknown-key' };
  const at = payload.length - BEACON_TAG_LENGTH;
  const want = tagOf(key.bytes, srcMac, payload.subarray(0, at));
  if (!timingSafeEqual(want, payload.subarray(at))) return { ok: false, reason: 'bad-tag' };
  return d;
}
