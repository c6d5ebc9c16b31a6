// Many prefixes, one attribute set: as few UPDATEs as fit the message size (RFC 4271 §9.2 lets one
// UPDATE carry every prefix that shares its attributes). IPv4 prefixes go in the body NLRI with
// NEXT_HOP; IPv6 ones in MP_REACH_NLRI, without NEXT_HOP (RFC 4760 §3: an UPDATE with no body NLRI
// SHOULD NOT carry it). Withdrawals likewise: IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH_NLRI.
// Prefixes are taken in order and each UPDATE is filled until the next one would not fit, which is
// the fewest UPDATEs when the prefixes have one length (the /32 and /128 routes we announce).
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST, type CodecOptions, type PathAttributes, type Prefix, type UpdateMessage } from './types.ts';
import { maxMessageLength } from './header.ts';
import { encodingLength } from './message.ts';
import { prefixFamily, prefixLength } from './prefix.ts';

/**
 * `attributes` is the shared set: `nextHop` for IPv4, and `mpReach` (AFI 2, its `nextHops`, NLRI
 * ignored) as the template for IPv6. Throws RangeError when a family's prefixes are given without
 * its next hop, or when the attributes alone leave no room for one prefix.
 */
export function packUpdates(prefixes: readonly Prefix[], attributes: PathAttributes, opts: CodecOptions, maxSize = maxMessageLength(opts)): UpdateMessage[] {
  const v4 = prefixes.filter((p) => prefixFamily(p) === 4);
  const v6 = prefixes.filter((p) => prefixFamily(p) === 6);
  const { mpReach, nextHop, ...shared } = attributes;
  const out: UpdateMessage[] = [];
  if (v4.length > 0) {
    if (nextHop === undefined) throw new RangeError('bgp codec: packUpdates got IPv4 prefixes but no nextHop');
    const attrs: PathAttributes = { ...shared, nextHop };
    for (const chunk of fill(v4, { type: 'update', withdrawn: [], attributes: attrs, nlri: [] }, opts, maxSize)) {
      out.push({ type: 'update', withdrawn: [], attributes: attrs, nlri: chunk });
    }
  }
  if (v6.length > 0) {
    if (!mpReach || mpReach.afi !== AFI_IPV6) throw new RangeError('bgp codec: packUpdates got IPv6 prefixes but no mpReach template for AFI 2');
    const template = (nlri: Prefix[]): PathAttributes => ({ ...shared, mpReach: { afi: mpReach.afi, safi: mpReach.safi, nextHops: mpReach.nextHops, nlri } });
    for (const chunk of fill(v6, { type: 'update', withdrawn: [], attributes: template([]), nlri: [] }, opts, maxSize)) {
      out.push({ type: 'update', withdrawn: [], attributes: template(chunk), nlri: [] });
    }
  }
  return out;
}

/** Withdrawals packed the same way: no attributes but MP_UNREACH_NLRI for IPv6. */
export function packWithdrawals(prefixes: readonly Prefix[], opts: CodecOptions, maxSize = maxMessageLength(opts)): UpdateMessage[] {
  const v4 = prefixes.filter((p) => prefixFamily(p) === 4);
  const v6 = prefixes.filter((p) => prefixFamily(p) === 6);
  const out: UpdateMessage[] = [];
  for (const chunk of fill(v4, { type: 'update', withdrawn: [], attributes: {}, nlri: [] }, opts, maxSize)) {
    out.push({ type: 'update', withdrawn: chunk, attributes: {}, nlri: [] });
  }
  const unreach = (withdrawn: Prefix[]): PathAttributes => ({ mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn } });
  for (const chunk of fill(v6, { type: 'update', withdrawn: [], attributes: unreach([]), nlri: [] }, opts, maxSize)) {
    out.push({ type: 'update', withdrawn: [], attributes: unreach(chunk), nlri: [] });
  }
  return out;
}

/**
 * Splits `prefixes` into runs that fit beside `empty` (the UPDATE without them). Exact: the only
 * size step besides the prefixes themselves is an MP attribute growing past 255 bytes, which
 * costs one more length byte (the Extended Length flag).
 */
function fill(prefixes: readonly Prefix[], empty: UpdateMessage, opts: CodecOptions, maxSize: number): Prefix[][] {
  if (prefixes.length === 0) return [];
  const base = encodingLength(empty, opts);
  const mp = empty.attributes.mpReach ?? empty.attributes.mpUnreach;
  // The MP attribute's value length without prefixes, and whether its header already has the 2-byte length.
  const mpValue = mp ? (empty.attributes.mpReach ? 5 + nextHopsLength(empty.attributes.mpReach.nextHops) : 3) : 0;
  const chunks: Prefix[][] = [];
  let cur: Prefix[] = [];
  let bytes = 0;
  const sizeWith = (n: number) => base + n + (mp && mpValue <= 255 && mpValue + n > 255 ? 1 : 0);
  for (const p of prefixes) {
    const n = prefixLength(p);
    if (sizeWith(n) > maxSize) throw new RangeError(`bgp codec: one prefix does not fit a ${maxSize}-byte UPDATE beside its attributes`);
    if (sizeWith(bytes + n) > maxSize) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(p);
    bytes += n;
  }
  chunks.push(cur);
  return chunks;
}

function nextHopsLength(hops: readonly string[]): number {
  return hops.reduce((n, h) => n + (h.includes(':') ? 16 : 4), 0);
}

/** RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4 unicast) or only an empty MP_UNREACH_NLRI. */
export function endOfRib(afi: number = AFI_IPV4, safi: number = SAFI_UNICAST): UpdateMessage {
  if (afi === AFI_IPV4 && safi === SAFI_UNICAST) return { type: 'update', withdrawn: [], attributes: {}, nlri: [] };
  return { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi, safi, withdrawn: [] } }, nlri: [] };
}

/** The family an End-of-RIB marker closes, or undefined when `m` is not one. */
export function endOfRibFamily(m: UpdateMessage): { afi: number; safi: number } | undefined {
  if (m.withdrawn.length > 0 || m.nlri.length > 0) return undefined;
  const a = m.attributes;
  const keys = Object.keys(a).filter((k) => a[k as keyof PathAttributes] !== undefined);
  if (keys.length === 0) return { afi: AFI_IPV4, safi: SAFI_UNICAST };
  if (keys.length === 1 && a.mpUnreach && a.mpUnreach.withdrawn.length === 0) return { afi: a.mpUnreach.afi, safi: a.mpUnreach.safi };
  return undefined;
}
