// Kubernetes Events for what users should see with `kubectl describe` (AssignIP, ReleaseIP,
// AssignIPFailed, which node answers, pool problems). Written as core/v1 Events, which every
// kubectl shows. Deduplicated by EventDedupe: a reconcile that finds nothing new writes nothing.
// Best effort by design: an event that cannot be written is logged, never an error for the
// caller, and is retried the next time the same thing is emitted.
import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { log } from '../log.ts';
import { type KubeClient, FIELD_MANAGER } from './client.ts';
import { describeError } from './errors.ts';
import { type DedupeKey, EventDedupe } from './event-dedupe.ts';

export type EventType = 'Normal' | 'Warning';

/** What an event is about: enough of an ObjectReference for kubectl describe to find it. */
export interface EventTarget {
  kind: string;
  apiVersion: string;
  name: string;
  /** Absent for cluster-scoped objects (Eip, Node). */
  namespace?: string;
  uid?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** reportingInstance and source.host: the node name. */
  instance: string;
  /** reportingComponent and source.component. Default `openelb-ts`. */
  component?: string;
  /** Dedupe memory bound. Default 4096 (object, slot) pairs. */
  maxEntries?: number;
}

// The API server rejects longer messages.
const MAX_MESSAGE = 1024;

/** Object identity for dedupe: uid when known, so a recreated object starts fresh. */
export function targetKey(t: EventTarget): string {
  return t.uid ?? `${t.kind}/${t.namespace ?? ''}/${t.name}`;
}

/** Target for any object with metadata (Service, Node, Eip JSON, ...). */
export function targetOf(
  obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; uid?: string } },
  fallback: { kind: string; apiVersion: string },
): EventTarget {
  return {
    kind: obj.kind ?? fallback.kind,
    apiVersion: obj.apiVersion ?? fallback.apiVersion,
    name: obj.metadata?.name ?? '',
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
  };
}

export class EventRecorder {
  readonly component: string;
  readonly instance: string;
  private readonly client: KubeClient;
  private readonly dedupe: EventDedupe;

  constructor(opts: EventRecorderOptions) {
    this.client = opts.client;
    this.instance = opts.instance;
    this.component = opts.component ?? 'openelb-ts';
    this.dedupe = new EventDedupe(opts.maxEntries);
  }

  normal(target: EventTarget, reason: string, message: string, slot?: string): Promise<boolean> {
    return this.emit(target, 'Normal', reason, message, slot);
  }

  warning(target: EventTarget, reason: string, message: string, slot?: string): Promise<boolean> {
    return this.emit(target, 'Warning', reason, message, slot);
  }

  /**
   * Write an Event unless the same (type, message) was the last one for (target, slot); slot
   * defaults to the reason. Resolves true when an Event was written. Never rejects.
   */
  async emit(target: EventTarget, type: EventType, reason: string, message: string, slot?: string): Promise<boolean> {
    const key: DedupeKey = { object: targetKey(target), slot: slot ?? reason };
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    // Record before writing so concurrent identical emits write once; undo on failure.
    if (!this.dedupe.shouldEmit(key, type, `${reason}\u0000${text}`)) return false;
    try {
      await this.client.core.createNamespacedEvent({
        // Events about cluster-scoped objects live in "default", as client-go puts them.
        namespace: target.namespace ?? 'default',
        body: this.build(target, type, reason, text),
        fieldManager: FIELD_MANAGER,
      });
      return true;
    } catch (err) {
      this.dedupe.forget(key);
      log.warn('event not recorded', {
        object: `${target.kind}/${target.namespace ? `${target.namespace}/` : ''}${target.name}`,
        reason,
        error: describeError(err),
      });
      return false;
    }
  }

  /** Forget dedupe state for an object that was deleted (keeps memory to live objects). */
  forget(target: EventTarget): void {
    this.dedupe.forgetObject(targetKey(target));
  }

  private build(t: EventTarget, type: EventType, reason: string, message: string): CoreV1Event {
    const now = new Date();
    // client-go names events <object>.<unique suffix>; names must stay within 253 chars.
    const suffix = `${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
    const base = t.name.slice(0, 253 - suffix.length - 1);
    return {
      metadata: { name: `${base}.${suffix}`, namespace: t.namespace ?? 'default' },
      involvedObject: {
        kind: t.kind,
        apiVersion: t.apiVersion,
        name: t.name,
        ...(t.namespace ? { namespace: t.namespace } : {}),
        ...(t.uid ? { uid: t.uid } : {}),
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component, host: this.instance },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
  }
}
