// BGP mode on this node: is there a BgpConf for the speakers, and for each BgpPeer this node peers
// with, is the session established (the node's own key of BgpPeer status.nodesPeerStatus, written by
// its speaker) and, when it is not, can this node reach the peer's BGP port at all? Pure verdicts
// over what the CLI observed (src/cli/doctor.ts opens the TCP probe; it never probes a session that
// is established, so doctor cannot disturb a working session by colliding with it).
import { type CheckResult, cannotTell, failed, passed } from './result.ts';

export const CHECK_BGP = 'bgp';

/** One TCP connect from this node to the peer's BGP port, closed at once without a byte sent. */
export type BgpProbe =
  | { kind: 'connected'; ms: number }
  | { kind: 'refused' }
  | { kind: 'timeout'; ms: number }
  | { kind: 'error'; message: string };

export interface BgpPeerFact {
  name: string;
  neighborAddress: string;
  port: number;
  passive: boolean;
  md5: boolean;
  /** This node's status entry (absent: its speaker has not written one). */
  entry?: { sessionState: string; lastError?: string; uptime?: string; negotiatedHoldTime?: string };
  /** false: the BgpPeer's nodeSelector does not select this node. */
  selected: boolean;
  /** Only when the session is not established and we are not passive. */
  probe?: BgpProbe;
}

export type BgpFacts =
  | { kind: 'no-api'; why: string }
  | { kind: 'no-crd' }
  | { kind: 'failed'; message: string }
  | { kind: 'listed'; conf: { name: string } | undefined; peers: BgpPeerFact[]; bgpEips: number };

const DEFAULT_CONF = 'default';

/** Every BGP check for this node; [] when the cluster uses no BGP at all (Layer 2 only). */
export function checkBgp(f: BgpFacts): CheckResult[] {
  switch (f.kind) {
    case 'no-api':
      return [];
    case 'no-crd':
      return [];
    case 'failed':
      return [cannotTell(CHECK_BGP, `cannot read BgpConf/BgpPeer objects: ${f.message}`)];
    case 'listed': {
      if (!f.conf && f.peers.length === 0 && f.bgpEips === 0) return [];
      const out: CheckResult[] = [];
      if (!f.conf) {
        out.push(
          failed(
            CHECK_BGP,
            `no BgpConf "${DEFAULT_CONF}": the speakers run no BGP, so ${f.bgpEips} bgp Eip(s) and ${f.peers.length} BgpPeer(s) announce nothing`,
            `create BgpConf ${DEFAULT_CONF} with spec.as (this cluster's AS) and spec.listenPort, e.g. as in OpenELB's BGP walkthrough`,
          ),
        );
      } else if (f.peers.length === 0) {
        out.push(failed(CHECK_BGP, `BgpConf ${f.conf.name} exists but there is no BgpPeer: no router learns the Service IPs`, 'create a BgpPeer per router (spec.conf.neighborAddress, spec.conf.peerAs)'));
      } else {
        out.push(passed(CHECK_BGP, `BgpConf ${f.conf.name}, ${f.peers.length} BgpPeer(s), ${f.bgpEips} bgp Eip(s)`));
      }
      for (const p of f.peers) out.push(checkBgpPeer(p));
      return out;
    }
  }
}

export function checkBgpPeer(p: BgpPeerFact): CheckResult {
  const check = `bgp-peer ${p.name}`;
  const where = `${p.neighborAddress} port ${p.port}`;
  if (!p.selected) return passed(check, `BgpPeer ${p.name} does not select this node (spec.nodeSelector): no session here`);
  if (!p.entry) {
    return cannotTell(check, `no status from this node's speaker for BgpPeer ${p.name} yet (status.nodesPeerStatus has no key for this node)`, 'check the speaker pod on this node and its log');
  }
  const state = p.entry.sessionState.toUpperCase();
  if (state === 'ESTABLISHED') {
    const hold = p.entry.negotiatedHoldTime ? `, hold time ${p.entry.negotiatedHoldTime} s` : '';
    return passed(check, `session with ${where} established${p.entry.uptime ? ` since ${p.entry.uptime}` : ''}${hold}`);
  }
  const err = p.entry.lastError ? ` (last error: ${p.entry.lastError})` : '';
  const head = `session with ${where} is ${state}${err}`;
  if (p.passive) {
    return failed(check, `${head}; the peer is passive here (spec.transport.passiveMode), so the router must connect to this node`, 'configure the router with this node\'s address as a neighbor and check it can reach BgpConf spec.listenPort on this node');
  }
  const probe = p.probe;
  if (!probe) return failed(check, head, 'see the speaker log on this node');
  switch (probe.kind) {
    case 'connected':
      return failed(
        check,
        `${head}; ${where} accepts TCP from this node (${Math.round(probe.ms)} ms), so BGP itself is refused`,
        `compare the router's neighbor config with BgpPeer ${p.name} and BgpConf: AS numbers (spec.conf.peerAs, BgpConf spec.as), this node's address as the router's neighbor, ${p.md5 ? 'the MD5 password (spec.conf.authPassword), ' : ''}and the router's log`,
      );
    case 'refused':
      return failed(check, `${head}; ${where} refuses TCP from this node: no BGP listens there, or the router does not accept this node`, `check that the router runs BGP on port ${p.port} (spec.transport.remotePort) and lists this node's address as a neighbor`);
    case 'timeout':
      if (p.md5) {
        return failed(
          check,
          `${head}; nothing answers on ${where} within ${Math.round(probe.ms)} ms. With TCP MD5 the router silently drops connections without the right signature, so this is also what a wrong password looks like`,
          `check spec.conf.authPassword against the router's password for this node, then routing and firewalls between this node and ${p.neighborAddress}`,
        );
      }
      return failed(check, `${head}; nothing answers on ${where} within ${Math.round(probe.ms)} ms`, `check the route and firewalls from this node to ${p.neighborAddress} (and spec.ebgpMultihop if it is more than one hop away)`);
    case 'error':
      return failed(check, `${head}; probing ${where} failed: ${probe.message}`, `check this node's route to ${p.neighborAddress}`);
  }
}
