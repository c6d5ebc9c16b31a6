// The AS_PATH a speaker puts on routes it originates (RFC 4271 §5.1.2): empty towards an internal
// peer, its own AS towards an external one. Towards a peer without four-octet AS support a local AS
// above 65535 cannot be written; RFC 6793 §4.2.2 sends AS_TRANS in AS_PATH and the real path in
// AS4_PATH instead, which is what this returns (the codec itself refuses a 4-octet ASN on a
// 2-octet session rather than rewriting it behind the caller's back).
import { AS_SEQUENCE, AS_TRANS, type PathAttributes } from './types.ts';

export function originatedAsPath(localAs: number, peerAs: number, fourOctetAs: boolean): Pick<PathAttributes, 'asPath' | 'as4Path'> {
  if (localAs === peerAs) return { asPath: [] };
  if (fourOctetAs || localAs <= 0xffff) return { asPath: [{ type: AS_SEQUENCE, asns: [localAs] }] };
  return { asPath: [{ type: AS_SEQUENCE, asns: [AS_TRANS] }], as4Path: [{ type: AS_SEQUENCE, asns: [localAs] }] };
}
