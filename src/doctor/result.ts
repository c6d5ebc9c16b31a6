// One doctor finding. `status` has three values because a node cannot always tell: a missing
// kube-proxy ConfigMap (k3s, Cilium without kube-proxy) is not a problem, and not a pass either.
// Only 'problem' makes `openelb-ts doctor` exit 1.

export type CheckStatus = 'ok' | 'problem' | 'unknown';

export interface CheckResult {
  /** Short id of what was checked, e.g. `kube-proxy`, `nic layer2-eip`, `sysctl eth0`. */
  check: string;
  status: CheckStatus;
  /** False only for status 'problem' (what the brief's {check, ok, problem, fix} shape asks). */
  ok: boolean;
  /** What was found, in one sentence (always set). */
  detail: string;
  /** For 'problem' and 'unknown': what is wrong or why it cannot be told. */
  problem?: string;
  /** For 'problem' (and some 'unknown'): what to do about it. */
  fix?: string;
}

export function passed(check: string, detail: string): CheckResult {
  return { check, status: 'ok', ok: true, detail };
}

export function failed(check: string, problem: string, fix: string, detail = problem): CheckResult {
  return { check, status: 'problem', ok: false, detail, problem, fix };
}

export function cannotTell(check: string, problem: string, fix?: string): CheckResult {
  return { check, status: 'unknown', ok: true, detail: problem, problem, ...(fix ? { fix } : {}) };
}
