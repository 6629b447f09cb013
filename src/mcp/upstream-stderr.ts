/**
 * A stdio upstream's stderr, line by line, into the connector's log — never verbatim: each line passes
 * log redaction (src/pii/log-redaction.ts: values de-tokenized for the requests in flight on this
 * upstream become tokens again, detected personal data is masked) or is dropped (`stderr: 'drop'`: only
 * its length is logged, at debug). Lines longer than {@link MAX_STDERR_LINE_LENGTH} are cut.
 *
 * @example
 * logStderr(transport.stderr, { log, mode: 'redact', isCurrent: () => gen === current, taints: () => [...] });
 */

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { redactLogText } from '../pii/log-redaction.js';
import type { RequestTaint } from '../pii/request-taint.js';

/** Longest stderr line logged from a stdio child; longer lines are truncated. */
export const MAX_STDERR_LINE_LENGTH = 4096;
/** What happens to stderr lines: `redact` (logged at debug after redaction) or `drop`. */
export type StderrMode = 'redact' | 'drop';
/** Default: stderr lines are logged redacted. */
export const DEFAULT_UPSTREAM_STDERR: StderrMode = 'redact';

export interface StderrLogOptions {
  log: Logger;
  mode: StderrMode;
  /** Whether the child is still the current connection (lines of an old child are ignored). */
  isCurrent: () => boolean;
  /** Taints of the requests in flight on this upstream. */
  taints: () => Iterable<RequestTaint | undefined>;
}

export function logStderr(stderr: Readable, o: StderrLogOptions): void {
  const lines = createInterface({ input: stderr, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => {
    if (!o.isCurrent()) return;
    if (o.mode === 'drop') {
      o.log.debug({ stderrBytes: Buffer.byteLength(line) }, 'upstream stderr line dropped');
      return;
    }
    const cut = line.length > MAX_STDERR_LINE_LENGTH ? `${line.slice(0, MAX_STDERR_LINE_LENGTH)}…` : line;
    // Debug: servers write banners and chatter there; the connector's own log says when one fails.
    o.log.debug({ stderr: redactLogText(cut, { taints: o.taints() }) });
  });
}
