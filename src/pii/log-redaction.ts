/**
 * Redaction of log lines that may carry payload (an upstream's stderr, error messages from upstreams,
 * resource URIs): synchronous, no vault. Values of the given request taints become their tokens; then
 * every span the detectors find is masked (`[MASKED:EMAIL]`, cards keep their last four). Logs are
 * written by the connector, so this never reaches an agent, only operators and log pipelines.
 *
 * @example
 * log.info({ stderr: redactLogText(line, { taints }) }, 'upstream stderr');
 * redactLogText('mail anna@example.com') // 'mail [MASKED:EMAIL]'
 */
import { maskValue } from './pii-redactor.js';
import { PiiScanner } from './pii-scanner.js';
import type { RequestTaint } from './request-taint.js';

let defaultScanner: PiiScanner | undefined;

export interface LogRedactionOptions {
  /** Scanner (default: the built-in detectors with default options, built once). */
  scanner?: PiiScanner;
  /** Values de-tokenized for requests in flight: replaced by their tokens first. */
  taints?: Iterable<RequestTaint | undefined>;
}

/** `text` with taint values tokenized and detected personal data masked. */
export function redactLogText(text: string, options: LogRedactionOptions = {}): string {
  let out = text;
  for (const taint of options.taints ?? []) {
    const hit = taint?.apply(out);
    if (hit) out = hit.text;
  }
  defaultScanner ??= options.scanner ? undefined : new PiiScanner();
  const scanner = options.scanner ?? (defaultScanner as PiiScanner);
  const spans = scanner.scan(out);
  if (spans.length === 0) return out;
  let masked = '';
  let at = 0;
  for (const span of spans) {
    masked += out.slice(at, span.start) + maskValue(span.class, span.normalized ?? span.value);
    at = span.end;
  }
  return masked + out.slice(at);
}

/** The message of an error (and of its cause), redacted for a log line. */
export function redactedErrorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return redactLogText(`${err.message}${cause}`);
  }
  return redactLogText(String(err));
}
