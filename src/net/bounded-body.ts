/**
 * Reading a request body with a byte limit: the one reader behind the relay's enrollment and audit
 * APIs, the connector's `/mcp` endpoint and the tlog witness. Nothing past the limit is buffered.
 * Works on anything that yields chunks: a Node `IncomingMessage` or HTTP/2 stream, or a web
 * `ReadableStream` (a `Request`'s body).
 *
 * @example
 * const text = await readBoundedText(req, 64 * 1024, { drain: true });
 * if (text === undefined) return sendError(res, 413, 'AIRLOCK_ENROLL_TOO_LARGE', 'body too large');
 */

export interface BoundedBodyOptions {
  /**
   * After the limit: `false` (default) stops reading at once (the stream is released, a web stream is
   * cancelled); `true` reads the rest and discards it, so an HTTP/1.1 answer can follow on the same
   * connection.
   */
  drain?: boolean;
}

/** The body's bytes, or `undefined` when it is larger than `maxBytes`. */
export async function readBoundedBody(
  source: AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  options: BoundedBodyOptions = {},
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (size <= maxBytes) chunks.push(buf);
    else if (!options.drain) return undefined;
  }
  return size > maxBytes ? undefined : Buffer.concat(chunks);
}

/** The body as UTF-8 text, or `undefined` when it is larger than `maxBytes`. */
export async function readBoundedText(
  source: AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  options: BoundedBodyOptions = {},
): Promise<string | undefined> {
  return (await readBoundedBody(source, maxBytes, options))?.toString('utf8');
}
