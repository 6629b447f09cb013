/**
 * Live counters for the console's overview, fed by the gateway's decision channel
 * (`airlock:gateway:decision`): tool calls per minute and refusals by reason code, per minute, for
 * the last `windowMinutes`. They count what this connector process saw since it started (the audit
 * trail is the durable record).
 *
 * A tool call is counted once, on its `authenticate` decision (the first stage every request passes);
 * a refusal is counted on each `deny` decision, by its code.
 *
 * @example
 * const counters = new ActivityCounters();
 * counters.start();
 * counters.snapshot().callsLastMinute;
 * counters.stop();
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DECISION_CHANNEL, type DecisionMessage } from '../gateway/decision-channel.js';

/** Minutes of history kept. */
export const DEFAULT_ACTIVITY_WINDOW_MINUTES = 60;

/** Minutes listed one by one (the most recent ones, never before counting started). */
export const DEFAULT_ACTIVITY_SHOWN_MINUTES = 10;

const MINUTE = 60_000;

interface MinuteBucket {
  minute: number;
  calls: number;
  refusals: Map<string, number>;
}

export interface ActivitySnapshot {
  /** Tool calls in the last 60 s. */
  callsLastMinute: number;
  /** Calls per minute, oldest first, for up to the last 10 minutes since counting started (the current one last). */
  minutes: Array<{ minute: number; calls: number; refusals: number }>;
  /** Refusals in the window by code, most frequent first. */
  refusalsByCode: Array<{ code: string; count: number }>;
  /** When counting started (epoch ms). */
  since: number;
}

export class ActivityCounters {
  readonly windowMinutes: number;
  readonly #now: () => number;
  readonly #buckets: MinuteBucket[] = [];
  #since = 0;
  #listener: ((message: unknown) => void) | undefined;

  constructor(options: { windowMinutes?: number; now?: () => number } = {}) {
    this.windowMinutes = Math.max(1, options.windowMinutes ?? DEFAULT_ACTIVITY_WINDOW_MINUTES);
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (this.#listener) return;
    this.#since = this.#now();
    this.#listener = (message) => this.record(message as DecisionMessage);
    diagnosticsChannel.subscribe(DECISION_CHANNEL, this.#listener);
  }

  stop(): void {
    if (this.#listener) diagnosticsChannel.unsubscribe(DECISION_CHANNEL, this.#listener);
    this.#listener = undefined;
  }

  /** Counts one decision (called by the channel subscription; public for tests and other feeds). */
  record(message: DecisionMessage): void {
    const d = message.decision;
    const counted = message.method === 'tools/call' && d.stage === 'authenticate';
    const refused = d.outcome === 'deny';
    if (!counted && !refused) return;
    const bucket = this.#bucket(Math.floor((d.at || this.#now()) / MINUTE));
    if (counted) bucket.calls++;
    if (refused) {
      const code = d.code ?? 'AIRLOCK_REFUSED';
      bucket.refusals.set(code, (bucket.refusals.get(code) ?? 0) + 1);
    }
  }

  snapshot(): ActivitySnapshot {
    const now = this.#now();
    const current = Math.floor(now / MINUTE);
    this.#prune(current);
    const minutes: ActivitySnapshot['minutes'] = [];
    const byCode = new Map<string, number>();
    const shown = Math.min(this.windowMinutes, DEFAULT_ACTIVITY_SHOWN_MINUTES);
    const first = Math.max(current - shown + 1, Math.floor(this.#since / MINUTE));
    for (let m = first; m <= current; m++) {
      const b = this.#buckets.find((x) => x.minute === m);
      let refusals = 0;
      for (const n of b?.refusals.values() ?? []) refusals += n;
      minutes.push({ minute: m * MINUTE, calls: b?.calls ?? 0, refusals });
    }
    let callsLastMinute = 0;
    for (const b of this.#buckets) {
      for (const [code, n] of b.refusals) byCode.set(code, (byCode.get(code) ?? 0) + n);
      if (b.minute === current) callsLastMinute += b.calls;
      else if (b.minute === current - 1) {
        // Pro-rate the previous minute so "last 60 s" does not drop to zero at every minute boundary.
        callsLastMinute += Math.round(b.calls * (1 - (now % MINUTE) / MINUTE));
      }
    }
    return {
      callsLastMinute,
      minutes,
      refusalsByCode: [...byCode].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count),
      since: this.#since,
    };
  }

  #bucket(minute: number): MinuteBucket {
    let b = this.#buckets.find((x) => x.minute === minute);
    if (!b) {
      b = { minute, calls: 0, refusals: new Map() };
      this.#buckets.push(b);
      this.#buckets.sort((x, y) => x.minute - y.minute);
      this.#prune(Math.floor(this.#now() / MINUTE));
    }
    return b;
  }

  #prune(current: number): void {
    while (
      this.#buckets.length > 0 &&
      (this.#buckets[0]?.minute ?? current) <= current - this.windowMinutes
    ) {
      this.#buckets.shift();
    }
  }
}
