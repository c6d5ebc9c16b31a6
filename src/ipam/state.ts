// The allocation state of the whole cluster, kept in memory by the IPAM controller and changed
// one Service at a time (so one Service change costs one decision, not a recompute of 10,000).
// Everything here is pure data manipulation: the controller feeds API objects in (as EipInput /
// ServiceRequest) and writes the results out.
//
// Rules kept here:
// - Restoring: IPs a Service already holds (status.loadBalancer.ingress) are recorded as they are,
//   never re-drawn, whatever happened to their pool (disabled, overlapping, address changed,
//   deleting, or gone). Two Services that hold one IP but may not share keep it; the later one
//   gets a warning naming the conflict.
// - A held IP is moved only when the Service's OWN request changed (requested IP or named Eip) or
//   its families changed; the new address is found first and the old one is kept if that fails.
// - New allocations come only from allocatable pools (validate.ts).
import { canonicalIP, type Family, familyName, type IP, ipToString, parseIP } from '../net/ip.ts';
import { rangeContains } from './range.ts';
import { RangeAllocator } from './allocator.ts';
import { ChurnMap } from './churn-map.ts';
import { chooseAddress, type Choice, type ChooseContext } from './choose.ts';
import { compareAge, parseTime, toPool, type EipInput, type Pool } from './pool.ts';
import {
  isOurs,
  parseRequested,
  requestedEips,
  requestedIPTexts,
  wantedFamilies,
  type ServiceRequest,
} from './service-request.ts';
import { canShare, type SharingParty } from './sharing.ts';
import {
  addressInUseProblem,
  deletingMessage,
  readyCondition,
  validatePools,
  type Condition,
  type PoolProblem,
  type PoolVerdict,
} from './validate.ts';

/** Eip status exactly in OpenELB's shape (plus `conditions`). */
export interface EipStatus {
  firstIP?: string;
  lastIP?: string;
  /**
   * The CRD field is an integer; JSON numbers in JS are exact only up to 2^53-1, so a larger pool
   * (IPv6 /75 and wider) reports Number.MAX_SAFE_INTEGER. `occupied` is computed exactly.
   */
  poolSize: number;
  usage: number;
  /** IP -> "ns/name", or "ns/a;ns/b" (sorted) when shared. Keys in address order. */
  used: Record<string, string>;
  occupied: boolean;
  ready: boolean;
  v4: boolean;
  conditions: Condition[];
}

export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: 'AssignIP' | 'AssignIPFailed' | 'ReleaseIP';
  message: string;
}

export interface ServiceResult {
  key: string;
  /**
   * assigned: `ips` is what the Service holds (write it to status.loadBalancer.ingress, add finalizer and label);
   * failed: nothing (new) could be assigned; `ips` are addresses it keeps (usually empty);
   * released: not ours any more, clear status/finalizer/label (`released` lists the freed IPs);
   * ignored: not ours and never was: do not touch.
   */
  state: 'assigned' | 'failed' | 'released' | 'ignored';
  /** Canonical IPs in family order (spec.ipFamilies order). */
  ips: string[];
  /** Eip per entry of `ips` ('' for an IP that lies in no Eip). */
  eips: string[];
  /** Value for the label eip.openelb.kubesphere.io/v1alpha2 (first Eip, '' if none). */
  eip: string;
  /** IPs this decision freed. */
  released: string[];
  failure?: { reason: string; message: string };
  warning?: { reason: string; message: string };
  /** Set only when the outcome differs from the previous one for this Service (one event per change). */
  event?: ServiceEvent;
}

interface Holding {
  ip: string;
  family: Family;
  value: bigint;
  /** Attributed pool ('' when the IP lies in no pool). */
  pool: string;
  /** Holders in the order they got the IP. */
  services: string[];
}

interface ServiceEntry {
  req: ServiceRequest;
  order: number;
  ips: string[];
  last?: ServiceResult;
  signature: string;
}

export interface PlanInput {
  pools: EipInput[];
  services: ServiceRequest[];
  /** namespace name -> labels. */
  namespaces: Record<string, Record<string, string>>;
}

/**
 * One Eip status.used entry that disagreed with what the Services show, repaired towards the
 * Services. Structured so callers group and count without parsing `message`.
 */
export interface EipRepair {
  eip: string;
  ip: string;
  /** Holder(s) the Eip status named ("ns/a" or "ns/a;ns/b"); '' when it did not list the IP. */
  statusSaid: string;
  /** Holder(s) the Services show; '' when none does. */
  servicesSay: string;
  /** For people: what disagreed and what was done. */
  message: string;
}

export interface PlanResult {
  services: Map<string, ServiceResult>;
  pools: Map<string, EipStatus>;
  /** Eip status entries that disagreed with the Services and were repaired towards the Services. */
  repairs: EipRepair[];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareServices(a: ServiceRequest, b: ServiceRequest): number {
  return parseTime(a.creationTimestamp) - parseTime(b.creationTimestamp) || compareKeys(a.key, b.key);
}

export class IpamState implements ChooseContext {
  private pools = new Map<string, Pool>();
  private byAge: Pool[] = [];
  private verdicts = new Map<string, PoolVerdict>();
  private allocators = new Map<string, RangeAllocator>();
  // ChurnMap, not Map: the same IP and the same Service key are deleted and re-added all the time.
  private holdings = new ChurnMap<string, Holding>();
  /** pool name -> IPs attributed to it. */
  private poolIPs = new Map<string, ChurnMap<string, true>>();
  private services = new ChurnMap<string, ServiceEntry>();
  private namespaces = new Map<string, Record<string, string>>();
  private dirty = new Set<string>();

  constructor(eips: readonly EipInput[] = [], namespaces: Record<string, Record<string, string>> = {}) {
    for (const [n, l] of Object.entries(namespaces)) this.namespaces.set(n, l);
    this.setEips(eips);
  }

  // ---- ChooseContext ----
  poolsByAge(): readonly Pool[] {
    return this.byAge;
  }
  pool(name: string): Pool | undefined {
    return this.pools.get(name);
  }
  verdict(name: string): PoolVerdict | undefined {
    return this.verdicts.get(name);
  }
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.namespaces.get(namespace);
  }
  nextFree(pool: string): bigint | undefined {
    return this.allocators.get(pool)?.nextFree();
  }
  holders(ip: string, exceptKey: string): readonly SharingParty[] {
    const h = this.holdings.get(ip);
    if (!h) return [];
    const out: SharingParty[] = [];
    for (const k of h.services) {
      if (k === exceptKey) continue;
      const e = this.services.get(k);
      if (e) out.push(e.req);
    }
    return out;
  }

  // ---- inputs ----

  /** Replace the set of Eips. Allocations stay; they are re-attributed to the new pools. */
  setEips(eips: readonly EipInput[]): void {
    for (const name of this.pools.keys()) this.dirty.add(name);
    this.pools = new Map(eips.map((e) => [e.name, toPool(e)]));
    for (const name of this.pools.keys()) this.dirty.add(name);
    this.byAge = [...this.pools.values()].sort(compareAge);
    this.verdicts = validatePools(this.byAge);
    this.allocators = new Map();
    for (const p of this.byAge) if (p.address.ok) this.allocators.set(p.name, new RangeAllocator(p.address.value));
    const old = [...this.holdings.values()];
    this.poolIPs = new Map();
    for (const h of old) {
      const ip: IP = { family: h.family, value: h.value };
      h.pool = this.attribute(ip, h.pool, h.services);
      this.index(h);
    }
  }

  setNamespace(name: string, labels: Record<string, string> | undefined): void {
    if (labels === undefined) this.namespaces.delete(name);
    else this.namespaces.set(name, labels);
  }

  // ---- allocation bookkeeping ----

  private index(h: Holding): void {
    for (const a of this.allocators.values()) a.markUsed(h.value);
    let set = this.poolIPs.get(h.pool);
    if (!set) this.poolIPs.set(h.pool, (set = new ChurnMap()));
    set.set(h.ip, true);
    this.dirty.add(h.pool);
  }

  private unindex(h: Holding): void {
    for (const a of this.allocators.values()) a.markFree(h.value);
    this.poolIPs.get(h.pool)?.delete(h.ip);
    this.dirty.add(h.pool);
  }

  /** Which pool an existing IP belongs to: the hint if it holds it, then Eip status, then the oldest usable, then any. */
  private attribute(ip: IP, hint: string | undefined, keys: readonly string[]): string {
    const holds = (p: Pool | undefined): p is Pool => !!p && p.address.ok && rangeContains(p.address.value, ip);
    if (hint !== undefined && holds(this.pools.get(hint))) return hint;
    const text = ipToString(ip.family, ip.value);
    const containing = this.byAge.filter(holds);
    const fromStatus = containing.find((p) => {
      const v = p.statusUsed[text];
      return v !== undefined && keys.some((k) => v.split(';').includes(k));
    });
    if (fromStatus) return fromStatus.name;
    const usable = containing.find((p) => this.verdicts.get(p.name)?.allocatable);
    if (usable) return usable.name;
    if (containing[0]) return containing[0].name;
    // In no current pool: keep the label's Eip when it exists (its address changed: AddressInUse).
    if (hint !== undefined && hint !== '' && this.pools.has(hint)) return hint;
    for (const p of this.byAge) {
      const v = p.statusUsed[text];
      if (v !== undefined && keys.some((k) => v.split(';').includes(k))) return p.name;
    }
    return '';
  }

  private hold(key: string, ip: IP, poolHint: string | undefined): Holding {
    const text = ipToString(ip.family, ip.value);
    let h = this.holdings.get(text);
    if (!h) {
      h = { ip: text, family: ip.family, value: ip.value, pool: this.attribute(ip, poolHint, [key]), services: [key] };
      this.holdings.set(text, h);
      this.index(h);
    } else if (!h.services.includes(key)) {
      h.services.push(key);
      this.dirty.add(h.pool);
    }
    return h;
  }

  private drop(key: string, ip: string): void {
    const h = this.holdings.get(ip);
    if (!h) return;
    const i = h.services.indexOf(key);
    if (i < 0) return;
    h.services.splice(i, 1);
    this.dirty.add(h.pool);
    if (h.services.length === 0) {
      this.holdings.delete(ip);
      this.unindex(h);
    }
  }

  // ---- Services ----

  /**
   * Record what a Service already holds (from its status), without deciding anything. Called by
   * `upsertService` for a Service seen for the first time, and by `reconcileAll` for all of them
   * before any new allocation (so a pending Service can never take an IP someone already holds).
   */
  restore(svc: ServiceRequest): void {
    if (this.services.has(svc.key)) return;
    const entry: ServiceEntry = { req: svc, order: parseTime(svc.creationTimestamp), ips: [], signature: '' };
    this.services.set(svc.key, entry);
    if (!isOurs(svc)) return;
    for (const t of svc.assigned ?? []) {
      const ip = parseIP(t);
      if (!ip) continue;
      const text = ipToString(ip.family, ip.value);
      if (entry.ips.includes(text)) continue;
      this.hold(svc.key, ip, svc.assignedEip);
      entry.ips.push(text);
    }
    // No event when the Service already shows exactly what we would write.
    entry.signature = signatureOf('assigned', entry.ips, undefined);
  }

  /** A Service was added or changed: restore it if new, then decide. */
  upsertService(svc: ServiceRequest): ServiceResult {
    const entry = this.services.get(svc.key);
    if (!entry) this.restore(svc);
    else entry.req = svc;
    return this.decide(svc.key);
  }

  /** A Service is gone from the API: free what it held. */
  removeService(key: string): ServiceResult {
    const entry = this.services.get(key);
    const released = entry ? [...entry.ips] : [];
    for (const ip of released) this.drop(key, ip);
    this.services.delete(key);
    const r: ServiceResult = { key, state: released.length > 0 ? 'released' : 'ignored', ips: [], eips: [], eip: '', released };
    if (released.length > 0) r.event = { type: 'Normal', reason: 'ReleaseIP', message: `Released ${released.join(', ')} from Service ${key}` };
    return r;
  }

  /** Keys of Services that wait for an address (failed), oldest first. */
  pendingKeys(): string[] {
    return [...this.services.values()]
      .filter((e) => e.last?.state === 'failed')
      .sort((a, b) => a.order - b.order || compareKeys(a.req.key, b.req.key))
      .map((e) => e.req.key);
  }

  /** Decide again for every pending Service (after a release, an Eip or a Namespace change). */
  retryPending(): ServiceResult[] {
    return this.pendingKeys().map((k) => this.decide(k));
  }

  lastResult(key: string): ServiceResult | undefined {
    return this.services.get(key)?.last;
  }

  /** Decide for one known Service. */
  decide(key: string): ServiceResult {
    const entry = this.services.get(key);
    if (!entry) return { key, state: 'ignored', ips: [], eips: [], eip: '', released: [] };
    const svc = entry.req;
    const result = this.compute(entry, svc);
    const sig = signatureOf(result.state, result.ips, result.failure);
    if (sig !== entry.signature && result.state !== 'ignored') result.event = eventFor(result, svc);
    entry.signature = sig;
    entry.last = result;
    return result;
  }

  private result(entry: ServiceEntry, state: ServiceResult['state'], released: string[]): ServiceResult {
    const eips = entry.ips.map((ip) => this.holdings.get(ip)?.pool ?? '');
    return { key: entry.req.key, state, ips: [...entry.ips], eips, eip: eips.find((e) => e !== '') ?? '', released };
  }

  private compute(entry: ServiceEntry, svc: ServiceRequest): ServiceResult {
    const key = svc.key;
    if (!isOurs(svc)) {
      const released = [...entry.ips];
      for (const ip of released) this.drop(key, ip);
      entry.ips = [];
      // Addresses we wrote earlier but never restored (e.g. seen first after opting out).
      if (svc.managed) for (const t of svc.assigned ?? []) {
        const c = canonicalIP(t);
        if (c && !released.includes(c)) released.push(c);
      }
      if (released.length > 0 || svc.managed) return this.result(entry, 'released', released);
      return this.result(entry, 'ignored', []);
    }

    const fail = (reason: string, message: string): ServiceResult => ({ ...this.result(entry, 'failed', []), failure: { reason, message } });

    const { texts, source } = requestedIPTexts(svc);
    const { ips: requested, bad } = parseRequested(texts);
    if (bad.length > 0) {
      return fail('InvalidRequestedIP', `Service ${key}: ${source} "${bad.join(', ')}" is not an IP address (zone ids and prefixes are not allowed): write one IPv4 or IPv6 address${source.startsWith('annotation') ? ' (comma-separated, one per family)' : ''}`);
    }
    const { families, requireAll } = wantedFamilies(svc, requested);
    const reqByFamily = new Map<Family, IP>();
    for (const ip of requested) {
      const text = ipToString(ip.family, ip.value);
      if (!families.includes(ip.family)) {
        return fail('FamilyMismatch', `Service ${key} requests ${text} (${familyName(ip.family)}, ${source}) but its spec.ipFamilies is [${families.map(familyName).join(', ')}]: request an ${familyName(families[0] as Family)} address, or make the Service ${familyName(ip.family)} or dual-stack`);
      }
      if (reqByFamily.has(ip.family)) {
        return fail('InvalidRequestedIP', `Service ${key} requests two ${familyName(ip.family)} addresses (${source}): request at most one per family`);
      }
      reqByFamily.set(ip.family, ip);
    }
    const eipNames = requestedEips(svc);

    // Per family: keep a held IP that still fits the Service's own request, else choose a new one.
    const plan: { family: Family; keep?: string; choice?: Choice }[] = [];
    for (const f of families) {
      const held = entry.ips.find((ip) => this.holdings.get(ip)?.family === f);
      if (held !== undefined && this.fitsRequest(held, reqByFamily.get(f), eipNames, f)) {
        plan.push({ family: f, keep: held });
        continue;
      }
      const choice = chooseAddress(this, svc, f, eipNames, reqByFamily.get(f), source);
      plan.push({ family: f, choice, ...(held !== undefined && !choice.ok ? { keep: held } : {}) });
    }

    const failures = plan.filter((p) => p.choice && !p.choice.ok);
    const anyNew = plan.some((p) => p.choice?.ok);
    const anyKept = plan.some((p) => p.keep !== undefined);
    const firstFailure = failures[0]?.choice as Extract<Choice, { ok: false }> | undefined;
    if ((requireAll && failures.length > 0) || (!anyNew && !anyKept)) {
      // Nothing new is taken; what the Service held stays, so a failed move loses nothing.
      const f = firstFailure as Extract<Choice, { ok: false }>;
      return fail(f.reason, failures.map((p) => (p.choice as Extract<Choice, { ok: false }>).message).join('; '));
    }

    // Apply: take new addresses first, then free what is no longer wanted.
    const next: string[] = [];
    for (const p of plan) {
      if (p.choice?.ok) {
        this.hold(key, { family: p.choice.family, value: p.choice.value }, p.choice.pool);
        next.push(p.choice.ip);
      } else if (p.keep !== undefined) {
        next.push(p.keep);
      }
    }
    const released = entry.ips.filter((ip) => !next.includes(ip));
    for (const ip of released) this.drop(key, ip);
    entry.ips = next;
    const r = this.result(entry, 'assigned', released);
    if (firstFailure) r.warning = { reason: firstFailure.reason, message: failures.map((p) => (p.choice as Extract<Choice, { ok: false }>).message).join('; ') };
    const w = this.keptWarnings(entry);
    if (w && !r.warning) r.warning = w;
    return r;
  }

  /** Does a held IP still satisfy the Service's own request for that family? */
  private fitsRequest(held: string, requested: IP | undefined, eipNames: readonly string[], f: Family): boolean {
    const h = this.holdings.get(held);
    if (!h) return false;
    if (requested !== undefined) return requested.value === h.value;
    if (eipNames.length > 0) {
      const named = eipNames.map((n) => this.pools.get(n)).filter((p): p is Pool => !!p && p.address.ok && p.address.value.family === f);
      // Only a request that names an existing Eip of this family can move an address.
      if (named.length > 0) return named.some((p) => p.name === h.pool);
    }
    return true;
  }

  /** Warnings about what a Service keeps: an IP in no Eip, or shared with a Service it may not share with. */
  private keptWarnings(entry: ServiceEntry): { reason: string; message: string } | undefined {
    for (const ip of entry.ips) {
      const h = this.holdings.get(ip);
      if (!h) continue;
      const idx = h.services.indexOf(entry.req.key);
      if (idx > 0) {
        const earlier = h.services.slice(0, idx).map((k) => this.services.get(k)?.req).filter((x): x is ServiceRequest => !!x);
        const v = canShare(ip, earlier, entry.req);
        if (!v.ok) return { reason: 'SharingConflict', message: `Service ${entry.req.key} keeps ${ip}, which it already held, but: ${v.message}` };
      }
      if (h.pool === '') return { reason: 'NotInPool', message: `Service ${entry.req.key} keeps ${ip}, which lies in no Eip any more: it is kept; delete the Service or restore an Eip that holds ${ip}` };
    }
    return undefined;
  }

  // ---- Eip status ----

  eipStatus(name: string): EipStatus | undefined {
    const p = this.pools.get(name);
    if (!p) return undefined;
    const v = this.verdicts.get(name);
    const ips = [...(this.poolIPs.get(name)?.keys() ?? [])]
      .map((ip) => this.holdings.get(ip))
      .filter((h): h is Holding => !!h)
      .sort((a, b) => (a.family - b.family) || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    const used: Record<string, string> = {};
    for (const h of ips) used[h.ip] = [...h.services].sort(compareKeys).join(';');
    const problems: PoolProblem[] = [...(v?.problems ?? [])];
    const outside = ips.filter((h) => !(p.address.ok && rangeContains(p.address.value, h)));
    const inUse = addressInUseProblem(p, outside.map((h) => ({ ip: h.ip, services: used[h.ip] ?? '' })));
    if (inUse) problems.push(inUse);
    if (p.deletionRequested) {
      const holders = [...new Set(ips.flatMap((h) => h.services))].sort(compareKeys);
      const d = problems.find((x) => x.reason === 'Deleting');
      if (d) d.message = deletingMessage(p, holders);
    }
    const cond = readyCondition(p, problems);
    const size = p.address.ok ? p.address.value.size : 0n;
    const status: EipStatus = {
      poolSize: Number(size > MAX_SAFE ? MAX_SAFE : size),
      usage: ips.length,
      used,
      occupied: p.address.ok ? BigInt(ips.length - outside.length) >= size : false,
      ready: cond.status === 'True',
      v4: p.address.ok && p.address.value.family === 4,
      conditions: [cond],
    };
    if (p.address.ok) {
      status.firstIP = ipToString(p.address.value.family, p.address.value.first);
      status.lastIP = ipToString(p.address.value.family, p.address.value.last);
    }
    return status;
  }

  eipStatuses(): Map<string, EipStatus> {
    const out = new Map<string, EipStatus>();
    for (const p of this.byAge) out.set(p.name, this.eipStatus(p.name) as EipStatus);
    return out;
  }

  /** Eips whose status may have changed since the last call (names of deleted Eips included). */
  takeDirtyEips(): string[] {
    const out = [...this.dirty].filter((n) => n !== '').sort(compareKeys);
    this.dirty.clear();
    return out;
  }

  /** Services that still hold addresses attributed to this Eip (the finalizer must wait for them). */
  eipHolders(name: string): string[] {
    const keys = new Set<string>();
    for (const ip of this.poolIPs.get(name)?.keys() ?? []) for (const k of this.holdings.get(ip)?.services ?? []) keys.add(k);
    return [...keys].sort(compareKeys);
  }

  /**
   * Differences between an Eip's input status.used and what the Services show, repaired towards
   * the Services. Meaningful only between restore() and the first decide(): after decide() a fresh
   * allocation for a waiting Service would look like an entry the Eip "did not list" (reconcileAll
   * calls it at that point). An entry naming a known Service that shows the IP but is no longer
   * ours is not drift either: its release follows in decide().
   */
  eipDrift(name: string): EipRepair[] {
    const p = this.pools.get(name);
    if (!p) return [];
    const want = this.eipStatus(name)?.used ?? {};
    const out: EipRepair[] = [];
    for (const [ip, who] of Object.entries(p.statusUsed)) {
      const c = canonicalIP(ip) ?? ip;
      if (want[c] === who || this.shownByAll(who, c)) continue;
      const servicesSay = want[c] ?? '';
      out.push({ eip: name, ip: c, statusSaid: who, servicesSay, message: `Eip ${name} status said ${ip} is used by ${who}, Services say ${servicesSay || 'nobody'}: following the Services` });
    }
    for (const [ip, who] of Object.entries(want)) {
      if (ip in p.statusUsed) continue;
      out.push({ eip: name, ip, statusSaid: '', servicesSay: who, message: `Eip ${name} status did not list ${ip} (used by ${who}): following the Services` });
    }
    return out;
  }

  /** Every Service in `who` ("ns/a;ns/b") is known and shows `ip` in its status. */
  private shownByAll(who: string, ip: string): boolean {
    return who.split(';').every((key) => {
      const e = this.services.get(key);
      return e !== undefined && !isOurs(e.req) && (e.req.assigned ?? []).some((t) => canonicalIP(t) === ip);
    });
  }

  /** IP -> holders, for the announcer side or debugging. */
  allocations(): Map<string, { pool: string; services: string[] }> {
    const out = new Map<string, { pool: string; services: string[] }>();
    for (const h of this.holdings.values()) out.set(h.ip, { pool: h.pool, services: [...h.services] });
    return out;
  }
}

function signatureOf(state: string, ips: readonly string[], failure: { reason: string; message: string } | undefined): string {
  return `${state}|${ips.join(',')}|${failure ? `${failure.reason}:${failure.message}` : ''}`;
}

function eventFor(r: ServiceResult, svc: ServiceRequest): ServiceEvent {
  if (r.state === 'released') return { type: 'Normal', reason: 'ReleaseIP', message: `Released ${r.released.join(', ') || 'its address'} from Service ${svc.key}` };
  if (r.state === 'failed') {
    const kept = r.ips.length > 0 ? ` (keeps ${r.ips.join(', ')})` : '';
    return { type: 'Warning', reason: 'AssignIPFailed', message: `${r.failure?.message ?? 'no address'}${kept}` };
  }
  const parts = r.ips.map((ip, i) => (r.eips[i] ? `${ip} from Eip ${r.eips[i]}` : ip));
  const extra = r.warning ? `; ${r.warning.message}` : '';
  const rel = r.released.length > 0 ? ` (released ${r.released.join(', ')})` : '';
  return { type: r.warning ? 'Warning' : 'Normal', reason: 'AssignIP', message: `Assigned ${parts.join(', ')} to Service ${svc.key}${rel}${extra}` };
}

