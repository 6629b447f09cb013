/**
 * Live sink: syslog (RFC 5424 messages) over TCP or TLS (RFC 5425), with octet-counting framing
 * (`<length> <message>`, RFC 6587 §3.4.1). Each message is
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [airlock@32473 tenant=".." seq=".." hash=".." ...] BOM{entry JSON}
 *
 * with facility 13 ("log audit") by default, severity info for allowed requests, warning for denied,
 * error for failed, notice for admin actions and prune records; MSGID is the entry kind. The
 * structured-data id uses the documentation enterprise number 32473 (RFC 5612) unless you set yours.
 *
 * Delivery: a bounded queue and a background connection that reconnects with backoff; the gateway
 * never waits for it. Syslog over TCP has no acknowledgements, so entries written to a connection
 * that then breaks can be lost by the collector; the ledger in the store stays authoritative.
 *
 * @example
 * const sink = new SyslogSink({ host: 'siem.internal', port: 6514, tls: { ca: caPem } });
 */
import net from 'node:net';
import { hostname as osHostname } from 'node:os';
import tls from 'node:tls';
import type { AuditEntry } from './audit-entry.js';
import { entryText } from './audit-entry.js';
import { type AuditSink, type AuditSinkStats, BoundedQueue, DEFAULT_SINK_MAX_QUEUE } from './audit-sink.js';

/** Facility 13: log audit. */
export const DEFAULT_SYSLOG_FACILITY = 13;
export const DEFAULT_SYSLOG_APP_NAME = 'airlock';
/** SD-ID with the example private enterprise number of RFC 5612. */
export const DEFAULT_SYSLOG_SD_ID = 'airlock@32473';
export const DEFAULT_SYSLOG_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_SYSLOG_RECONNECT_MIN_MS = 500;
export const DEFAULT_SYSLOG_RECONNECT_MAX_MS = 30_000;
/** Entries written per socket write. */
const WRITE_BATCH = 128;

export interface SyslogSinkOptions {
  host: string;
  port: number;
  /** TLS options (RFC 5425); omit for plain TCP. `servername` defaults to `host`. */
  tls?: tls.ConnectionOptions;
  /** Default `DEFAULT_SYSLOG_FACILITY` (13, log audit). */
  facility?: number;
  /** HOSTNAME field. Default: the machine's hostname. */
  hostname?: string;
  /** Default `DEFAULT_SYSLOG_APP_NAME`. */
  appName?: string;
  /** Default `DEFAULT_SYSLOG_SD_ID` (`airlock@32473`); use your own enterprise number. */
  structuredDataId?: string;
  /** Default `DEFAULT_SINK_MAX_QUEUE` (10 000). */
  maxQueue?: number;
  connectTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

/** Syslog severity of an entry. */
export function syslogSeverity(entry: AuditEntry): number {
  if (entry.kind === 'request') {
    if (entry.decision === 'allow') return 6;
    return entry.decision === 'deny' ? 4 : 3;
  }
  return 5;
}

/**
 * One RFC 5424 message for an entry (without framing).
 *
 * @example
 * formatSyslogMessage(entry, { hostname: 'conn-1' }) // '<110>1 2026-01-01T00:00:00.000Z conn-1 airlock 42 request [...] \uFEFF{...}'
 */
export function formatSyslogMessage(
  entry: AuditEntry,
  opts: {
    facility?: number;
    hostname?: string;
    appName?: string;
    structuredDataId?: string;
    procId?: string;
  } = {},
): string {
  const pri = (opts.facility ?? DEFAULT_SYSLOG_FACILITY) * 8 + syslogSeverity(entry);
  const params: [string, string | number | null | undefined][] = [
    ['tenant', entry.tenant],
    ['seq', entry.seq],
    ['hash', entry.hash],
  ];
  if (entry.kind === 'request') {
    params.push(
      ['agent', entry.agent?.name],
      ['method', entry.method],
      ['tool', entry.tool],
      ['decision', entry.decision],
      ['code', entry.code],
    );
  } else if (entry.kind === 'admin') {
    params.push(['action', entry.action], ['actor', entry.actor], ['target', entry.target]);
  } else if (entry.kind === 'intent') {
    params.push(['intent', entry.method], ['agent', entry.agent?.name], ['tool', entry.tool]);
  } else {
    params.push(['prunedThroughSeq', entry.prunedThroughSeq]);
  }
  const sd = `[${opts.structuredDataId ?? DEFAULT_SYSLOG_SD_ID}${params
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeParam(String(v))}"`)
    .join('')}]`;
  const header = [
    `<${pri}>1`,
    new Date(entry.time).toISOString(),
    headerField(opts.hostname ?? osHostname(), 255),
    headerField(opts.appName ?? DEFAULT_SYSLOG_APP_NAME, 48),
    headerField(opts.procId ?? String(process.pid), 128),
    headerField(entry.kind, 32),
  ].join(' ');
  return `${header} ${sd} \uFEFF${entryText(entry)}`;
}

/** Octet-counting frame: `<byte length> <message>`. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

export class SyslogSink implements AuditSink {
  readonly name: string;
  readonly #opts: SyslogSinkOptions;
  readonly #queue: BoundedQueue<AuditEntry>;
  readonly #hostname: string;
  #socket: net.Socket | undefined;
  #pumping: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #consecutiveFailures = 0;
  #sent = 0;
  #failures = 0;
  #lastError: string | undefined;
  #closed = false;

  constructor(opts: SyslogSinkOptions) {
    this.#opts = opts;
    this.name = `syslog+${opts.tls ? 'tls' : 'tcp'}://${opts.host}:${opts.port}`;
    this.#queue = new BoundedQueue(opts.maxQueue ?? DEFAULT_SINK_MAX_QUEUE);
    this.#hostname = opts.hostname ?? osHostname();
  }

  offer(entry: AuditEntry): void {
    if (this.#closed) return;
    this.#queue.push(entry);
    this.#pump();
  }

  stats(): AuditSinkStats {
    return {
      name: this.name,
      queued: this.#queue.length,
      sent: this.#sent,
      dropped: this.#queue.dropped,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  async close(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length > 0 && Date.now() < deadline && (this.#pumping || this.#retryTimer)) {
      await (this.#pumping ?? new Promise((r) => setTimeout(r, 20)));
    }
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#pumping?.catch(() => {});
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 1_000);
        socket.end(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      socket.destroy();
    }
  }

  #pump(): void {
    if (this.#pumping || this.#retryTimer || this.#closed) return;
    this.#pumping = this.#run().finally(() => {
      this.#pumping = undefined;
      if (this.#queue.length > 0 && !this.#retryTimer) this.#pump();
    });
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      let socket: net.Socket;
      try {
        socket = this.#socket ?? (await this.#connect());
      } catch (err) {
        this.#fail(err);
        return;
      }
      const batch = this.#queue.take(WRITE_BATCH);
      const procId = String(process.pid);
      const data = Buffer.concat(
        batch.map((e) =>
          frameOctetCounted(
            formatSyslogMessage(e, {
              facility: this.#opts.facility,
              hostname: this.#hostname,
              appName: this.#opts.appName,
              structuredDataId: this.#opts.structuredDataId,
              procId,
            }),
          ),
        ),
      );
      try {
        await new Promise<void>((resolve, reject) => {
          socket.write(data, (err) => (err ? reject(err) : resolve()));
        });
        this.#sent += batch.length;
        this.#consecutiveFailures = 0;
      } catch (err) {
        this.#queue.restore(batch);
        socket.destroy();
        if (this.#socket === socket) this.#socket = undefined;
        this.#fail(err);
        return;
      }
    }
  }

  #connect(): Promise<net.Socket> {
    const { host, port } = this.#opts;
    const timeoutMs = this.#opts.connectTimeoutMs ?? DEFAULT_SYSLOG_CONNECT_TIMEOUT_MS;
    return new Promise<net.Socket>((resolve, reject) => {
      const socket = this.#opts.tls
        ? tls.connect({ servername: net.isIP(host) ? undefined : host, ...this.#opts.tls, host, port })
        : net.connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`connect timeout after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onError = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once(this.#opts.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        socket.on('error', (err) => {
          this.#lastError = err.message;
        });
        socket.on('close', () => {
          if (this.#socket === socket) this.#socket = undefined;
        });
        // The collector sends nothing back; reading keeps a half-closed socket from lingering.
        socket.resume();
        this.#socket = socket;
        resolve(socket);
      });
    });
  }

  #fail(err: unknown): void {
    this.#failures += 1;
    this.#consecutiveFailures += 1;
    this.#lastError = err instanceof Error ? err.message : String(err);
    if (this.#closed) return;
    const min = this.#opts.reconnectMinMs ?? DEFAULT_SYSLOG_RECONNECT_MIN_MS;
    const max = this.#opts.reconnectMaxMs ?? DEFAULT_SYSLOG_RECONNECT_MAX_MS;
    const delay = Math.min(max, min * 2 ** Math.min(20, this.#consecutiveFailures - 1));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, delay);
    this.#retryTimer.unref();
  }
}

/** A header field: printable US-ASCII without spaces, at most `max` characters, `-` when empty. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean || '-';
}

/** SD-PARAM value escaping (RFC 5424 §6.3.3): `"`, `\` and `]` get a backslash. */
function escapeParam(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}
