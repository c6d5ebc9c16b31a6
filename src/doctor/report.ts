// Rendering doctor results (text for people, JSON for scripts) and the exit code. Pure.
import type { CheckResult } from './result.ts';

export interface DoctorReport {
  node: string;
  checks: CheckResult[];
  problems: number;
  unknown: number;
  ok: number;
}

export function summarize(node: string, checks: readonly CheckResult[]): DoctorReport {
  return {
    node,
    checks: [...checks],
    problems: checks.filter((c) => c.status === 'problem').length,
    unknown: checks.filter((c) => c.status === 'unknown').length,
    ok: checks.filter((c) => c.status === 'ok').length,
  };
}

/** 1 when any check found a problem; "cannot tell" alone does not fail the run. */
export function exitCodeOf(checks: readonly CheckResult[]): number {
  return checks.some((c) => c.status === 'problem') ? 1 : 0;
}

const LABEL = { ok: 'ok', problem: 'PROBLEM', unknown: '?' } as const;

export function formatText(r: DoctorReport): string {
  const width = Math.max(12, ...r.checks.map((c) => c.check.length));
  const lines = [`openelb-ts doctor on node ${r.node || '(unknown)'}`];
  for (const c of r.checks) {
    lines.push(`  ${LABEL[c.status].padEnd(8)} ${c.check.padEnd(width)}  ${c.detail}`);
    const pad = ' '.repeat(11 + width + 2);
    if (c.problem && c.problem !== c.detail) lines.push(`${pad}problem: ${c.problem}`);
    if (c.fix) lines.push(`${pad}fix: ${c.fix}`);
  }
  lines.push(
    `${r.problems} problem${r.problems === 1 ? '' : 's'}, ${r.ok} ok, ${r.unknown} cannot tell` +
      (r.problems ? ' (exit 1)' : ''),
  );
  return lines.join('\n') + '\n';
}

export function formatJson(r: DoctorReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
