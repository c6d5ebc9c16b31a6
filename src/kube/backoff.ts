// Capped exponential backoff with jitter, as a pure schedule. Informers and writers that retry
// against an API that is down must neither hammer it (N speakers retrying in lockstep after an
// apiserver restart) nor wait so long that they miss the moment it comes back.

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** No delay grows past this. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Fraction of the delay randomised away (0 = none, 0.2 = up to 20% shorter). */
  jitter: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 200, maxMs: 10_000, factor: 2, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (0 = first retry). `random` is injectable so tests are
 * deterministic; jitter only shortens, so `maxMs` stays a hard cap.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(0, Math.floor(attempt));
  // Cap the exponent before computing so huge attempt counts cannot overflow to Infinity.
  const steps = Math.min(n, 64);
  const raw = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, steps));
  const j = Math.min(Math.max(policy.jitter, 0), 1);
  return Math.max(0, Math.round(raw * (1 - j * random())));
}
