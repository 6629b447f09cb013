/**
 * Live sink: OpenTelemetry logs over OTLP/HTTP with the JSON encoding (`POST {endpoint}/v1/logs`,
 * `content-type: application/json`). Each entry becomes one LogRecord: `timeUnixNano` = entry time,
 * severity INFO / WARN / ERROR (as the syslog sink), `body` = the entry's canonical JSON, attributes
 * `airlock.tenant`, `airlock.audit.seq`, `airlock.audit.hash`, `airlock.audit.kind` and, for requests,
 * `airlock.agent`, `rpc.method`, `airlock.tool`, `airlock.decision`.
 *
 * Delivery: a bounded queue, batches of up to `maxBatch` records, one request in flight; 429 / 5xx /
 * network errors are retried with backoff, other 4xx drop the batch (counted as dropped).
 *
 * @example
 * const sink = new OtlpLogSink({ endpoint: 'http://otel-collector:4318' });
 */
import { type Dispatcher, fetch } from 'undici';
import type { AuditEntry } from './audit-entry.js';
import { entryText } from './audit-entry.js';
import { type AuditSink, type AuditSinkStats, BoundedQueue, DEFAULT_SINK_MAX_QUEUE } from './audit-sink.js';

export const DEFAULT_OTLP_MAX_BATCH = 512;
/** How long entries may wait to fill a batch. */
export const DEFAULT_OTLP_FLUSH_INTERVAL_MS = 200;
export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;
export const DEFAULT_OTLP_RETRY_MIN_MS = 500;
export const DEFAULT_OTLP_RETRY_MAX_MS = 30_000;
export const DEFAULT_OTLP_SERVICE_NAME = 'airlock-connector';

export interface OtlpLogSinkOptions {
  /** Collector base URL (`/v1/logs` is appended unless the URL already ends with it). */
  endpoint: string;
  /** Extra headers, e.g. an API key. */
  headers?: Record<string, string>;
  /** undici dispatcher for TLS trust or a proxy. */
  dispatcher?: Dispatcher;
  /** `service.name` resource attribute. Default `DEFAULT_OTLP_SERVICE_NAME`. */
  serviceName?: string;
  /** More resource attributes (string values). */
  resourceAttributes?: Record<string, string>;
  maxQueue?: number;
  maxBatch?: number;
  flushIntervalMs?: number;
  timeoutMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

type AnyValue = { stringValue: string } | { intValue: string };
interface KeyValue {
  key: string;
  value: AnyValue;
}

/** OTLP severity number and text of an entry. */
export function otlpSeverity(entry: AuditEntry): { severityNumber: number; severityText: string } {
  if (entry.kind === 'request' && entry.decision === 'deny')
    return { severityNumber: 13, severityText: 'WARN' };
  if (entry.kind === 'request' && entry.decision === 'error')
    return { severityNumber: 17, severityText: 'ERROR' };
  return { severityNumber: 9, severityText: 'INFO' };
}

/**
 * One OTLP LogRecord (JSON encoding) for an entry.
 *
 * @example
 * const record = otlpLogRecord(entry);
 */
export function otlpLogRecord(entry: AuditEntry, observedAtMs = Date.now()): Record<string, unknown> {
  const attrs: KeyValue[] = [
    str('airlock.tenant', entry.tenant),
    { key: 'airlock.audit.seq', value: { intValue: String(entry.seq) } },
    str('airlock.audit.hash', entry.hash),
    str('airlock.audit.kind', entry.kind),
  ];
  if (entry.kind === 'request') {
    if (entry.agent) attrs.push(str('airlock.agent', entry.agent.name));
    attrs.push(str('rpc.method', entry.method), str('airlock.decision', entry.decision));
    if (entry.tool) attrs.push(str('airlock.tool', entry.tool));
  } else if (entry.kind === 'admin') {
    attrs.push(str('airlock.admin.action', entry.action), str('airlock.admin.actor', entry.actor));
  }
  return {
    timeUnixNano: nanos(entry.time),
    observedTimeUnixNano: nanos(observedAtMs),
    ...otlpSeverity(entry),
    body: { stringValue: entryText(entry) },
    attributes: attrs,
  };
}

export class OtlpLogSink implements AuditSink {
  readonly name: string;
  readonly #opts: OtlpLogSinkOptions;
  readonly #url: string;
  readonly #queue: BoundedQueue<AuditEntry>;
  readonly #maxBatch: number;
  readonly #resource: { attributes: KeyValue[] };
  #pumping: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #consecutiveFailures = 0;
  #sent = 0;
  #failures = 0;
  #rejected = 0;
  #lastError: string | undefined;
  #closed = false;

  constructor(opts: OtlpLogSinkOptions) {
    this.#opts = opts;
    const base = opts.endpoint.endsWith('/') ? opts.endpoint.slice(0, -1) : opts.endpoint;
    this.#url = base.endsWith('/v1/logs') ? base : `${base}/v1/logs`;
    this.name = `otlp:${this.#url}`;
    this.#queue = new BoundedQueue(opts.maxQueue ?? DEFAULT_SINK_MAX_QUEUE);
    this.#maxBatch = Math.max(1, Math.trunc(opts.maxBatch ?? DEFAULT_OTLP_MAX_BATCH));
    this.#resource = {
      attributes: [
        str('service.name', opts.serviceName ?? DEFAULT_OTLP_SERVICE_NAME),
        ...Object.entries(opts.resourceAttributes ?? {}).map(([k, v]) => str(k, v)),
      ],
    };
  }

  offer(entry: AuditEntry): void {
    if (this.#closed) return;
    this.#queue.push(entry);
    if (this.#pumping || this.#timer) return;
    if (this.#queue.length >= this.#maxBatch) this.#pump();
    else this.#schedule(this.#opts.flushIntervalMs ?? DEFAULT_OTLP_FLUSH_INTERVAL_MS);
  }

  stats(): AuditSinkStats {
    return {
      name: this.name,
      queued: this.#queue.length,
      sent: this.#sent,
      dropped: this.#queue.dropped + this.#rejected,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  async close(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length > 0 && Date.now() < deadline) {
      if (this.#timer && this.#consecutiveFailures === 0) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#pump();
      }
      await (this.#pumping ?? new Promise((r) => setTimeout(r, 20)));
    }
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#pumping?.catch(() => {});
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delayMs);
    this.#timer.unref();
  }

  #pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = this.#run().finally(() => {
      this.#pumping = undefined;
      if (this.#queue.length > 0 && !this.#timer) this.#schedule(0);
    });
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue.take(this.#maxBatch);
      const outcome = await this.#post(batch);
      if (outcome === 'ok') {
        this.#sent += batch.length;
        this.#consecutiveFailures = 0;
        continue;
      }
      if (outcome === 'rejected') {
        this.#rejected += batch.length;
        continue;
      }
      this.#queue.restore(batch);
      this.#failures += 1;
      this.#consecutiveFailures += 1;
      const min = this.#opts.retryMinMs ?? DEFAULT_OTLP_RETRY_MIN_MS;
      const max = this.#opts.retryMaxMs ?? DEFAULT_OTLP_RETRY_MAX_MS;
      this.#schedule(Math.min(max, min * 2 ** Math.min(20, this.#consecutiveFailures - 1)));
      return;
    }
  }

  async #post(batch: AuditEntry[]): Promise<'ok' | 'retry' | 'rejected'> {
    const now = Date.now();
    const body = {
      resourceLogs: [
        {
          resource: this.#resource,
          scopeLogs: [
            { scope: { name: 'airlock.audit' }, logRecords: batch.map((e) => otlpLogRecord(e, now)) },
          ],
        },
      ],
    };
    try {
      const timeout = AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_OTLP_TIMEOUT_MS);
      const res = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.#opts.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.any([timeout, this.#abort.signal]),
        ...(this.#opts.dispatcher ? { dispatcher: this.#opts.dispatcher } : {}),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'ok';
      this.#lastError = `collector answered ${res.status}`;
      return res.status === 429 || res.status >= 500 || res.status === 408 ? 'retry' : 'rejected';
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err);
      return 'retry';
    }
  }
}

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function nanos(ms: number): string {
  return (BigInt(Math.trunc(ms)) * 1_000_000n).toString();
}
