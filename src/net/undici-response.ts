/**
 * The WHATWG `Response` for an answer read with undici's `dispatcher.request()`, built the cheap way:
 * a `text/event-stream` body is handed over as a stream as it arrives (MCP progress notifications and
 * server→client requests come before the final answer), anything else is read whole first and kept as
 * bytes (buffered-response.ts: no web stream unless asked for). Errors look like `fetch`'s: a network
 * failure is a `TypeError` with the cause, an aborted request rejects with its signal's reason. Used by
 * undici-fetch.ts.
 *
 * @example
 * const data = await dispatcher.request({ origin, path, method: 'POST', headers, body, signal });
 * return await responseOf(data, { method: 'POST', url, signal, redirect: 'manual', maxBodyBytes: 300 * 2 ** 20 });
 */
import { pipeline, Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import { readBoundedBody } from './bounded-body.js';
import { BufferedResponse } from './buffered-response.js';

/** What the response is built for (from the request). */
export interface ResponseRequest {
  method: string;
  url: URL;
  signal: AbortSignal | null | undefined;
  /** `error` rejects a redirect answer like `fetch` does; `manual` returns it as it is. */
  redirect: 'manual' | 'error';
  /** Largest body read whole; a larger one fails like a lost connection. */
  maxBodyBytes: number;
}

/** Statuses that never carry a body (fetch's "null body status"). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);
/** Statuses `fetch` treats as redirects when they name a `location`. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * What `fetch` rejects with: the signal's reason when it was aborted, else `TypeError('fetch failed')` with
 * the undici error as `cause` (callers tell an unreachable upstream by the `TypeError`).
 */
export function fetchFailure(err: unknown, signal: AbortSignal | null | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  return new TypeError('fetch failed', { cause: err });
}

/**
 * undici's parsed response headers as name/value pairs (repeated names one pair each), for the
 * `Response` constructor to fill its `Headers` from (no `Headers` made twice).
 */
export function headerPairs(raw: Record<string, string | string[] | undefined>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') pairs.push([name, value]);
    else if (value) for (const item of value) pairs.push([name, item]);
  }
  return pairs;
}

/** The decoder for one content coding, or undefined for a coding `fetch` leaves as it is. */
function decoderFor(coding: string): NodeJS.ReadWriteStream | undefined {
  // Lenient flushing, as fetch does: a body cut at a block boundary still yields what arrived.
  const lenient = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'gzip' || coding === 'x-gzip') return zlib.createGunzip(lenient);
  if (coding === 'deflate') return zlib.createInflate(lenient);
  if (coding === 'br')
    return zlib.createBrotliDecompress({
      flush: zlib.constants.BROTLI_OPERATION_FLUSH,
      finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
    });
  return undefined;
}

/** Drops an answer's body (the connection is closed; the error undici raises for it goes nowhere). */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * The body with its `content-encoding` undone, as `fetch` does (Airlock asks for no compression, so
 * this only runs for a server that compresses anyway). Unknown codings are left in place.
 */
function decodedBody(body: Readable, encoding: string | string[] | undefined): Readable {
  if (typeof encoding !== 'string' || encoding === '' || encoding === 'identity') return body;
  const decoders: NodeJS.ReadWriteStream[] = [];
  for (const coding of encoding.toLowerCase().split(',').reverse()) {
    const decoder = decoderFor(coding.trim());
    if (!decoder) break;
    decoders.push(decoder);
  }
  if (decoders.length === 0) return body;
  const last = decoders[decoders.length - 1] as unknown as Readable;
  pipeline([body, ...decoders] as unknown as [Readable, NodeJS.ReadWriteStream], () => {});
  return last;
}

/** The media type of a `content-type` value, lowercase, without parameters. */
function essence(contentType: string | string[] | undefined): string {
  const value = Array.isArray(contentType) ? contentType[contentType.length - 1] : contentType;
  if (!value) return '';
  const semi = value.indexOf(';');
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/** The whole body (undone codings included), failing like fetch when it cannot be read. */
async function bufferedBody(
  data: Dispatcher.ResponseData<unknown>,
  request: ResponseRequest,
): Promise<Uint8Array> {
  const max = request.maxBodyBytes;
  if (Number(data.headers['content-length']) > max) {
    discard(data.body);
    throw fetchFailure(new RangeError(`the answer declares more than ${max} bytes`), request.signal);
  }
  let bytes: Buffer | undefined;
  try {
    bytes = await readBoundedBody(decodedBody(data.body, data.headers['content-encoding']), max);
  } catch (err) {
    throw fetchFailure(err, request.signal);
  }
  if (bytes === undefined) {
    discard(data.body);
    throw fetchFailure(new RangeError(`the answer is larger than ${max} bytes`), request.signal);
  }
  return bytes;
}

/**
 * `body` failing like a lost connection past `request.maxBodyBytes`: counted over the whole stream
 * (`total`: the answer to one request), or since the last event boundary, a blank line (`event`: a
 * long-lived notification stream, whose events may add up to any size but none may grow without end).
 * A web `TransformStream`, so that a reader's `cancel()` reaches the undici body as before.
 */
function cappedStream(
  body: ReadableStream<Uint8Array>,
  request: ResponseRequest,
  count: 'total' | 'event',
): ReadableStream<Uint8Array> {
  const max = request.maxBodyBytes;
  let seen = 0;
  let lastByte = -1;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        seen = count === 'event' ? bytesAfterLastBoundary(bytes, seen, lastByte) : seen + bytes.length;
        lastByte = bytes.length > 0 ? (bytes[bytes.length - 1] ?? -1) : lastByte;
        if (seen <= max) return controller.enqueue(chunk);
        const what = count === 'event' ? 'an event of the stream is' : 'the answer stream is';
        const failure = fetchFailure(new RangeError(`${what} larger than ${max} bytes`), request.signal);
        controller.error(
          failure instanceof Error ? failure : new TypeError('fetch failed', { cause: failure }),
        );
      },
    }),
  );
}

const LF = 0x0a;
const CR = 0x0d;
const BLANK_LINES = [Buffer.from('\n\n'), Buffer.from('\r\r'), Buffer.from('\r\n\r\n')];

/** Bytes of the event in progress after `chunk`: `before` plus the chunk, or what follows its last blank line. */
function bytesAfterLastBoundary(chunk: Buffer, before: number, lastByte: number): number {
  let end = -1;
  for (const blank of BLANK_LINES) {
    const at = chunk.lastIndexOf(blank);
    if (at !== -1) end = Math.max(end, at + blank.length);
  }
  // A blank line split between two chunks: a line break at the end of one and at the start of the next.
  const first = chunk[0];
  if (end === -1 && (lastByte === LF || lastByte === CR) && (first === LF || first === CR)) end = 1;
  return end === -1 ? before + chunk.length : chunk.length - end;
}

/**
 * The `Response` for `data`: streamed for `text/event-stream`, read whole otherwise, no body for a
 * HEAD request or a null-body status. The undici body is always consumed or destroyed, so the
 * connection goes back to the pool (or is closed) in every case.
 */
export async function responseOf(
  data: Dispatcher.ResponseData<unknown>,
  request: ResponseRequest,
): Promise<Response> {
  const { statusCode: status, headers: raw } = data;
  const init = { status, statusText: data.statusText ?? '', headers: headerPairs(raw) };
  if (request.redirect === 'error' && REDIRECT_STATUSES.has(status) && raw.location !== undefined) {
    discard(data.body);
    throw fetchFailure(new Error('unexpected redirect'), request.signal);
  }
  if (status < 200 || status > 599) {
    discard(data.body);
    throw fetchFailure(new RangeError(`status ${status} is outside 200-599`), request.signal);
  }
  if (request.method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
    await data.body.dump().catch(() => {}); // a failed drain only costs the connection
    return new BufferedResponse(init, request.url.href, null);
  }
  if (essence(raw['content-type']) === 'text/event-stream') {
    const decoded = decodedBody(data.body, raw['content-encoding']);
    // The answer to one request (a POST) ends with its response: held to the body cap as a whole. A GET
    // stream (notifications for as long as the session lives): each event is.
    const stream = cappedStream(
      Readable.toWeb(decoded) as unknown as ReadableStream<Uint8Array>,
      request,
      request.method === 'POST' ? 'total' : 'event',
    );
    return new BufferedResponse(init, request.url.href, {
      stream,
    });
  }
  return new BufferedResponse(init, request.url.href, { bytes: await bufferedBody(data, request) });
}
