// Checks that need more than one Eip (overlap, several defaults) or allocations (a changed address
// with IPs in use), and the Eip `Ready` condition built from them.
//
// Rule for every conflict: the older Eip (creationTimestamp, then name) keeps its role; the newer
// one is told, by name, what it collides with and how to fix it. No check ever drops or moves an
// allocation: it only stops NEW allocations from the pool that is at fault.
import { type Family, familyName } from '../net/ip.ts';
import { formatRange, rangesOverlap } from './range.ts';
import { compareAge, DEFAULT_EIP_ANNOTATION, type Pool } from './pool.ts';

export type PoolReason =
  | 'InvalidAddress'
  | 'UnsupportedProtocol'
  | 'Overlap'
  | 'Deleting'
  | 'Disabled'
  | 'MultipleDefaults'
  | 'AddressInUse'
  | 'AddressNormalized'
  | 'InvalidNamespaceSelector';

export interface PoolProblem {
  reason: PoolReason;
  message: string;
  /** Blocking problems stop new allocations; the others are warnings. */
  blocking: boolean;
}

/** Standard metav1 Condition minus the timestamps/generation the controller adds. */
export interface Condition {
  type: 'Ready';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface PoolVerdict {
  name: string;
  /** May hand out new addresses (served, valid, not overlapping an older pool, not disabled or deleting). */
  allocatable: boolean;
  /** This pool is the effective default pool of its family. */
  effectiveDefault: boolean;
  problems: PoolProblem[];
}

const MAX_NAMES = 5;
function nameList(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES).join(', ');
  return names.length > MAX_NAMES ? `${shown} and ${names.length - MAX_NAMES} more` : shown;
}

/** Verdict for every pool (by name). Pools are compared by age: older wins every conflict. */
export function validatePools(pools: readonly Pool[]): Map<string, PoolVerdict> {
  const sorted = [...pools].sort(compareAge);
  const out = new Map<string, PoolVerdict>();
  const defaultOf = new Map<Family, string>();

  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i] as Pool;
    const problems: PoolProblem[] = [];
    let effectiveDefault = false;

    if (!p.address.ok) {
      problems.push({ reason: 'InvalidAddress', message: `Eip ${p.name}: ${p.address.message}`, blocking: true });
    } else if (p.address.value.note) {
      problems.push({ reason: 'AddressNormalized', message: `Eip ${p.name}: ${p.address.value.note}`, blocking: false });
    }
    if (!p.served) {
      problems.push({
        reason: 'UnsupportedProtocol',
        message: `Eip ${p.name} has protocol "${p.protocol}", which openelb-ts does not serve (it serves layer2 and bgp): set spec.protocol: layer2 or bgp to use this pool`,
        blocking: true,
      });
    }
    if (p.address.ok) {
      const mine = p.address.value;
      const older: string[] = [];
      for (let j = 0; j < i; j++) {
        const q = sorted[j] as Pool;
        if (q.address.ok && rangesOverlap(mine, q.address.value)) older.push(`${q.name} (${formatRange(q.address.value)})`);
      }
      if (older.length > 0) {
        problems.push({
          reason: 'Overlap',
          message: `Eip ${p.name} (${formatRange(mine)}) overlaps the older Eip ${nameList(older)}: no new addresses are drawn from ${p.name} (existing ones are kept); change spec.address so the pools do not overlap`,
          blocking: true,
        });
      }
      if (p.isDefault) {
        const holder = defaultOf.get(mine.family);
        if (holder === undefined) {
          defaultOf.set(mine.family, p.name);
          effectiveDefault = true;
        } else {
          problems.push({
            reason: 'MultipleDefaults',
            message: `Eip ${p.name} and the older Eip ${holder} are both marked ${DEFAULT_EIP_ANNOTATION}: "true" for ${familyName(mine.family)}; ${holder} stays the default, remove the annotation from one of them`,
            blocking: false,
          });
        }
      }
    }
    if (p.namespaceSelectorProblem) {
      // A warning, not a block: the pool still serves Services that name it or ask for its IPs.
      problems.push({ reason: 'InvalidNamespaceSelector', message: p.namespaceSelectorProblem, blocking: false });
    }
    if (p.deletionRequested) {
      problems.push({ reason: 'Deleting', message: `Eip ${p.name} is being deleted: no new allocations`, blocking: true });
    }
    if (p.disable) {
      problems.push({
        reason: 'Disabled',
        message: `Eip ${p.name} has spec.disable: true: no new allocations, existing ones are kept; set disable: false to allocate again`,
        blocking: true,
      });
    }
    out.set(p.name, { name: p.name, allocatable: !problems.some((x) => x.blocking), effectiveDefault, problems });
  }
  return out;
}

/** The AddressInUse warning for IPs attributed to a pool that its (changed) address no longer covers. */
export function addressInUseProblem(p: Pool, outside: readonly { ip: string; services: string }[]): PoolProblem | undefined {
  if (outside.length === 0) return undefined;
  const list = nameList(outside.map((o) => `${o.ip} (${o.services})`));
  const where = p.address.ok ? `the current spec.address ${formatRange(p.address.value)}` : 'spec.address';
  return {
    reason: 'AddressInUse',
    message: `Eip ${p.name}: ${outside.length} address(es) in use lie outside ${where}: ${list}; they are kept until released; restore the old range or move those Services`,
    blocking: false,
  };
}

/** The Deleting problem, refined with who still holds addresses (the finalizer waits for them). */
export function deletingMessage(p: Pool, holders: readonly string[]): string {
  if (holders.length === 0) return `Eip ${p.name} is being deleted and holds no addresses: the finalizer can be removed`;
  return `Eip ${p.name} is being deleted but ${holders.length} Service(s) still hold addresses from it (${nameList([...holders])}): it is kept until they are deleted or moved to another Eip`;
}

/**
 * The Ready condition: False with the first blocking problem's reason (messages of all problems
 * joined), else True with the first warning's reason, else True/Ready.
 */
export function readyCondition(p: Pool, problems: readonly PoolProblem[]): Condition {
  const blocking = problems.filter((x) => x.blocking);
  const message = problems.map((x) => x.message).join('; ');
  if (blocking.length > 0) return { type: 'Ready', status: 'False', reason: (blocking[0] as PoolProblem).reason, message };
  if (problems.length > 0) return { type: 'Ready', status: 'True', reason: (problems[0] as PoolProblem).reason, message };
  const range = p.address.ok ? `${formatRange(p.address.value)} (${p.address.value.size} addresses)` : '';
  return { type: 'Ready', status: 'True', reason: 'Ready', message: `Eip ${p.name} serves ${range} on ${p.protocol}` };
}
