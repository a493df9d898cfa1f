// The daemon's event bus, like dockerd's daemon/events: publishers log events, the last
// 256 are kept so `since` can replay them, and subscribers get live events filtered.

import type { EventActor, EventMessage, EventType } from '../api/types/events.js';
import type { Filters } from '../api/types/filters.js';
import { nowNano } from '../pkg/timeutil.js';
import { eventMatches } from './filter.js';

export interface EventInput {
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope?: 'local' | 'swarm';
}

export interface SubscribeOptions {
  since?: Date;
  until?: Date;
  filters?: Filters;
}

export interface Subscription {
  close(): void;
  /** Resolves when the subscription ends: close(), `until` reached, or the bus closed. */
  readonly done: Promise<void>;
}

/** dockerd's eventsLimit. */
export const EVENTS_HISTORY = 256;

interface Entry {
  msg: EventMessage;
  ns: bigint;
}

interface Subscriber {
  filters: Filters | undefined;
  sinceNs: bigint | undefined;
  onEvent: (msg: EventMessage) => void;
  end: () => void;
}

const dateNs = (d: Date): bigint => BigInt(d.getTime()) * 1_000_000n;

export class EventBus {
  private history: Entry[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;

  publish(e: EventInput): EventMessage {
    const ns = nowNano();
    // Field order as dockerd writes them: legacy fields first, then the Message struct's.
    const msg: Partial<EventMessage> = {};
    if (e.Type === 'container' || e.Type === 'image') {
      msg.status = e.Action;
      msg.id = e.Actor.ID;
      if (e.Type === 'container') msg.from = e.Actor.Attributes['image'] ?? '';
    }
    msg.Type = e.Type;
    msg.Action = e.Action;
    // Copied: publishers may reuse their attribute objects.
    msg.Actor = { ID: e.Actor.ID, Attributes: { ...e.Actor.Attributes } };
    msg.scope = e.scope ?? 'local';
    msg.time = Number(ns / 1_000_000_000n);
    msg.timeNano = Number(ns);
    const full = msg as EventMessage;
    this.history.push({ msg: full, ns });
    if (this.history.length > EVENTS_HISTORY) this.history.splice(0, this.history.length - EVENTS_HISTORY);
    for (const s of [...this.subscribers]) this.deliver(s, full, ns);
    return full;
  }

  /**
   * Subscribes to events. With `since` or `until`, the kept history in that window is
   * replayed first (synchronously, before this returns). With `until` in the past only
   * history is sent; in the future, the subscription ends at that time.
   */
  subscribe(opts: SubscribeOptions, onEvent: (msg: EventMessage) => void): Subscription {
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.subscribers.delete(sub);
      if (timer) clearTimeout(timer);
      resolveDone();
    };
    const sub: Subscriber = {
      filters: opts.filters && opts.filters.size > 0 ? opts.filters : undefined,
      sinceNs: opts.since ? dateNs(opts.since) : undefined,
      onEvent,
      end,
    };
    const handle: Subscription = { close: end, done };

    const untilNs = opts.until ? dateNs(opts.until) : undefined;
    if (opts.since || opts.until) {
      const since = sub.sinceNs ?? 0n;
      // Snapshot: a callback publishing an event must not extend the replay.
      for (const { msg, ns } of [...this.history]) {
        if (ns < since) continue;
        if (untilNs !== undefined && ns > untilNs) continue;
        if (sub.filters && !eventMatches(sub.filters, msg)) continue;
        try {
          onEvent(msg);
        } catch {
          end();
        }
        if (ended) return handle;
      }
    }

    if (this.closed || (opts.until && opts.until.getTime() <= Date.now())) {
      end();
      return handle;
    }
    this.subscribers.add(sub);
    if (opts.until) {
      const untilMs = opts.until.getTime();
      // setTimeout holds at most ~24.8 days; re-arm for anything further away.
      const arm = (): void => {
        const left = untilMs - Date.now();
        timer = left <= 0 ? undefined : setTimeout(arm, Math.min(left, 0x7fffffff));
        if (left <= 0) end();
      };
      arm();
    }
    return handle;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The kept history, oldest first. */
  recent(): EventMessage[] {
    return this.history.map((e) => e.msg);
  }

  /** Ends every subscription; later subscriptions end at once. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) s.end();
  }

  private deliver(s: Subscriber, msg: EventMessage, ns: bigint): void {
    if (s.sinceNs !== undefined && ns < s.sinceNs) return;
    if (s.filters && !eventMatches(s.filters, msg)) return;
    try {
      s.onEvent(msg);
    } catch {
      // A broken subscriber (e.g. its connection went away) must not hurt the others.
      s.end();
    }
  }
}
