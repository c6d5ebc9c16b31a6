// From an Adj-RIB-Out difference to the UPDATE messages that carry it, for one peer. Pure.
// Withdrawals go first (a prefix withdrawn and another announced in one diff never both linger),
// then one packed run per (family, next hop) group: many /32 and /128 routes share one attribute
// set, so 1,000 Services fit in a handful of UPDATEs instead of 1,000.
import { AS_SEQUENCE, AS_TRANS, AFI_IPV6, SAFI_UNICAST, type AsSegment, type CodecOptions, type PathAttributes, type UpdateMessage } from './codec/types.ts';
import { endOfRib, packUpdates, packWithdrawals } from './codec/index.ts';
import type { Family } from './open-check.ts';
import type { RibDiff } from './rib-out.ts';

export interface AttributeContext {
  localAs: number;
  peerAs: number;
  /** Negotiated: whether AS numbers travel as 4 octets on this session. */
  fourOctetAs: boolean;
}

/** ORIGIN IGP; AS_PATH of our AS to eBGP peers (empty to iBGP peers, with LOCAL_PREF 100). */
export function baseAttributes(ctx: AttributeContext): PathAttributes {
  if (ctx.localAs === ctx.peerAs) return { origin: 0, asPath: [], localPref: 100 };
  if (!ctx.fourOctetAs && ctx.localAs > 0xffff) {
    // RFC 6793 §4.2.2: a 2-octet peer sees AS_TRANS, and the real path in AS4_PATH.
    const seq = (as: number): AsSegment[] => [{ type: AS_SEQUENCE, asns: [as] }];
    return { origin: 0, asPath: seq(AS_TRANS), as4Path: seq(ctx.localAs) };
  }
  return { origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [ctx.localAs] }] };
}

export function updatesForDiff(diff: RibDiff, ctx: AttributeContext): UpdateMessage[] {
  const opts: CodecOptions = { fourOctetAs: ctx.fourOctetAs };
  const base = baseAttributes(ctx);
  const out: UpdateMessage[] = [];
  for (const w of diff.withdraw) out.push(...packWithdrawals(w.prefixes, opts));
  for (const a of diff.announce) {
    const attrs: PathAttributes =
      a.family === 4 ? { ...base, nextHop: a.nextHop } : { ...base, mpReach: { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHops: [a.nextHop], nlri: [] } };
    out.push(...packUpdates(a.prefixes, attrs, opts));
  }
  return out;
}

/** End-of-RIB markers (RFC 4724 §2) for the families of a session, after its initial table. */
export function endOfRibs(families: Family[]): UpdateMessage[] {
  return families.map((f) => (f === 'ipv4-unicast' ? endOfRib() : endOfRib(AFI_IPV6, SAFI_UNICAST)));
}
