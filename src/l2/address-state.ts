// The per-address state machine of the announcer, as data and pure decisions: which state an
// address starts in, when a probe is over, when the next announcement is due, and which claims by
// another MAC change the state or are worth a report. The announcer (announcer.ts) applies these
// with timers and sockets; nothing here touches either.

/**
 * probing: waiting probeMs for another host to answer our probe (not answered yet);
 * announcing: answered and announced; conflict: another host answered the probe (not answered,
 * re-probed every reprobeMs); error: the NIC is missing or its socket cannot be opened (retried).
 */
export type AnnounceState = 'probing' | 'announcing' | 'conflict' | 'error';

export interface Conflict {
  ip: string;
  nic: string;
  /** The other host's MAC. */
  mac: string;
  /** probe: found before announcing (we did not announce); announced: seen while we answer for it. */
  phase: 'probe' | 'announced';
}

export interface AddressStatus {
  nic: string;
  state: AnnounceState;
  /** The other MAC that claimed the address (set in 'conflict', and in 'announcing' after a claim was seen). */
  conflictMac?: string;
  error?: string;
}

/** Probes sent per probing round, at 0 and probeMs/2: one lost probe does not hide a conflict. */
export const PROBE_SENDS = 2;

/** The first state of a new (or restarted) address: probe first when asked and probing is enabled. */
export function firstState(probe: boolean, probeMs: number): 'probing' | 'announcing' {
  return probe && probeMs > 0 ? 'probing' : 'announcing';
}

/**
 * One step of a probing round after `sent` probes: send another (and wait `waitMs`), or, with
 * every probe sent and unanswered for probeMs in all, the address is free.
 */
export function probeStep(sent: number, probeMs: number): { kind: 'send'; waitMs: number } | { kind: 'free' } {
  return sent < PROBE_SENDS ? { kind: 'send', waitMs: probeMs / PROBE_SENDS } : { kind: 'free' };
}

/** `ms` spread by ±10 %, so many addresses started together do not fire in one spike forever. */
export function jittered(ms: number, random: number): number {
  return ms * (0.9 + random * 0.2);
}

/**
 * Delay to the next announcement after one was sent with `burstLeft` still to go (after this
 * one): the burst interval while the burst lasts, then the (jittered) refresh, or null when
 * refresh is off.
 */
export function nextAnnouncementMs(burstLeft: number, burstIntervalMs: number, refreshMs: number, random: number): number | null {
  if (burstLeft > 0) return burstIntervalMs;
  return refreshMs > 0 ? jittered(refreshMs, random) : null;
}

/**
 * A claim by another MAC for an address being answered: record it only when the address is
 * announcing and the claimer differs from the last one recorded. It is never fought: answering
 * every claim with our own gratuitous ARP would be a storm between two announcers.
 */
export function claimChangesOwner(state: AnnounceState | null, lastClaimMac: string | undefined, mac: string): boolean {
  return state === 'announcing' && lastClaimMac !== mac;
}

/** A claim (or a probe) by another MAC while we probe: the address is in use, go to 'conflict'. */
export function claimEndsProbe(state: AnnounceState | null): boolean {
  return state === 'probing';
}
