// How this node's speaker judges its peers alive: by segment beacons (sub-second failover) or, on a
// NIC where no peer's beacon has been heard for a whole Lease duration, by the membership Leases
// alone (failover takes the Lease duration). The speaker says so on its membership Lease
// (annotation openelb.kubesphere.io/lease-only-nics); this is the pure verdict over what was read.
import { type CheckResult, cannotTell, passed } from './result.ts';

export const CHECK_LIVENESS = 'liveness';

export type LivenessFact =
  | { kind: 'no-api'; why: string }
  | { kind: 'no-lease'; lease: string }
  | { kind: 'lease'; lease: string; holder: string; leaseOnlyNics: string[] }
  | { kind: 'error'; lease: string; message: string };

export function checkLiveness(f: LivenessFact): CheckResult {
  switch (f.kind) {
    case 'no-api':
      return cannotTell(CHECK_LIVENESS, `not checked (${f.why})`);
    case 'no-lease':
      return cannotTell(CHECK_LIVENESS, `no membership Lease ${f.lease}: no speaker has run on this node yet`, 'check the speaker DaemonSet pod on this node');
    case 'error':
      return cannotTell(CHECK_LIVENESS, `cannot read membership Lease ${f.lease}: ${f.message}`);
    case 'lease':
      if (f.holder === '') return cannotTell(CHECK_LIVENESS, `membership Lease ${f.lease} is released: the speaker on this node stopped`);
      if (f.leaseOnlyNics.length === 0) return passed(CHECK_LIVENESS, 'peers are judged alive by segment beacons on every NIC this node announces on');
      return cannotTell(
        CHECK_LIVENESS,
        `Lease-only liveness on ${f.leaseOnlyNics.join(', ')}: no peer's beacon has been heard there for a whole Lease duration, so a crashed peer's IPs on that segment move only when its Lease expires (tens of seconds, not under 1 s)`,
        'fine for a single speaker on that segment; otherwise check that the network forwards multicast 03:6f:65:6c:62:00 with ethertype 0x88B5 between the nodes, and that every speaker reads the same key Secret (metric openelb_beacons_received_total{result="unknown-key"} counts beacons signed with a key we do not hold)',
      );
  }
}
