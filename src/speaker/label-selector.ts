// metav1.LabelSelector matching (matchLabels AND matchExpressions), for BgpPeer.nodeSelector. Pure.
// An empty selector ({}) matches everything, as in Kubernetes; whether an absent selector matches
// is the caller's rule (OpenELB: an absent nodeSelector means every node).

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type SelectorResult = { ok: true; matches: boolean } | { ok: false; problem: string };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Whether `labels` satisfy `selector`, or why the selector cannot be read. */
export function matchSelector(selector: unknown, labels: Readonly<Record<string, string>>): SelectorResult {
  if (!isRecord(selector)) return { ok: false, problem: 'is not an object with matchLabels / matchExpressions' };
  const { matchLabels, matchExpressions } = selector;
  let matches = true;
  if (matchLabels !== undefined) {
    if (!isRecord(matchLabels)) return { ok: false, problem: 'has a matchLabels that is not a label map' };
    for (const [k, v] of Object.entries(matchLabels)) {
      if (typeof v !== 'string') return { ok: false, problem: `gives label "${k}" a value that is not a string` };
      if (labels[k] !== v) matches = false;
    }
  }
  if (matchExpressions !== undefined) {
    if (!Array.isArray(matchExpressions)) return { ok: false, problem: 'has a matchExpressions that is not a list' };
    for (const r of matchExpressions as unknown[]) {
      if (!isRecord(r) || typeof r.key !== 'string' || typeof r.operator !== 'string') {
        return { ok: false, problem: 'has a matchExpressions entry without key and operator' };
      }
      const values = Array.isArray(r.values) ? r.values.filter((v): v is string => typeof v === 'string') : [];
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      switch (r.operator) {
        case 'In':
          if (values.length === 0) return { ok: false, problem: `uses In on "${r.key}" without values` };
          if (!has || !values.includes(labels[r.key] as string)) matches = false;
          break;
        case 'NotIn':
          if (values.length === 0) return { ok: false, problem: `uses NotIn on "${r.key}" without values` };
          if (has && values.includes(labels[r.key] as string)) matches = false;
          break;
        case 'Exists':
          if (!has) matches = false;
          break;
        case 'DoesNotExist':
          if (has) matches = false;
          break;
        default:
          return { ok: false, problem: `uses operator "${r.operator}" (one of In, NotIn, Exists, DoesNotExist)` };
      }
    }
  }
  return { ok: true, matches };
}
