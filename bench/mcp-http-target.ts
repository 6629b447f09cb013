/**
 * The light load generator: JSON-RPC `tools/call` requests as raw HTTP POSTs over an undici `Pool`
 * with keep-alive (no SDK client in the loop, so the generator costs little CPU next to the system
 * under test). Speaks the 2026-07-28 era (stateless: the per-request `_meta` envelope and the
 * `Mcp-Method` / `Mcp-Name` headers, exactly as the SDK client sends them) or the 2025-11-25 era
 * (an `initialize` handshake, then requests on the `Mcp-Session-Id`). Answers may be JSON or SSE.
 *
 * @example
 * const target = new McpHttpTarget({ url: 'http://127.0.0.1:8080/mcp', era: 'modern', toolPrefix: '' }, 64);
 * await target.init();
 * const { bytes } = await target.callTool('echo', { text: 'hi' });
 * await target.close();
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { buildConnector, Pool } from 'undici';

export type McpEra = 'modern' | 'legacy';

/** The 2026-07-28 revision (stateless). */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
/** The 2025-11-25 revision (sessions). */
export const LEGACY_PROTOCOL_VERSION = '2025-11-25';

export interface TargetTls {
  /** CA to pin (no system roots). */
  caPem: string;
  /** Client certificate and key for mutual TLS. */
  certPem?: string;
  keyPem?: string;
  /** SNI and the host name the server certificate must carry. */
  servername: string;
}

/** Where one benchmark path is reached. */
export interface McpEndpointSpec {
  /** The MCP endpoint URL as the client names it (Host header, SNI). */
  url: string;
  /** Open TCP here instead of resolving the URL's host. */
  dial?: { host: string; port: number };
  tls?: TargetTls;
  era: McpEra;
  /** Prefix of tool names on this path (`bench.` behind Airlock's namespacing, '' elsewhere). */
  toolPrefix: string;
}

export interface CallOutcome {
  /** Response body bytes. */
  bytes: number;
}

const CLIENT_INFO = { name: 'airlock-bench', version: '1.0.0' };

/** A call that did not return a JSON-RPC result. */
export class BenchCallError extends Error {
  override readonly name = 'BenchCallError';
}

export class McpHttpTarget {
  readonly #spec: McpEndpointSpec;
  readonly #pool: Pool;
  readonly #path: string;
  #sessionId: string | undefined;
  #nextId = 1;

  constructor(spec: McpEndpointSpec, connections: number) {
    this.#spec = spec;
    const url = new URL(spec.url);
    this.#path = url.pathname;
    const connector = buildConnector(
      spec.tls
        ? {
            ca: spec.tls.caPem,
            ...(spec.tls.certPem && spec.tls.keyPem ? { cert: spec.tls.certPem, key: spec.tls.keyPem } : {}),
            rejectUnauthorized: true,
            servername: spec.tls.servername,
            checkServerIdentity: (_host: string, cert: PeerCertificate) =>
              checkServerIdentity(spec.tls?.servername ?? '', cert),
          }
        : {},
    );
    const dial = spec.dial;
    this.#pool = new Pool(url.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
      connect: (options, callback) =>
        connector(
          {
            ...options,
            ...(dial ? { hostname: dial.host, port: String(dial.port) } : {}),
            ...(spec.tls ? { servername: spec.tls.servername } : {}),
          },
          callback,
        ),
    });
  }

  get era(): McpEra {
    return this.#spec.era;
  }

  /** Legacy era: runs the `initialize` handshake once; the session is shared by every connection. */
  async init(): Promise<void> {
    if (this.#spec.era !== 'legacy' || this.#sessionId) return;
    const res = await this.#post(
      {
        jsonrpc: '2.0',
        id: this.#nextId++,
        method: 'initialize',
        params: { protocolVersion: LEGACY_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
      },
      { 'mcp-protocol-version': LEGACY_PROTOCOL_VERSION },
    );
    const sid = res.headers['mcp-session-id'];
    await readMessage(res.body, res.headers['content-type']);
    if (typeof sid !== 'string') throw new BenchCallError('initialize answered without an Mcp-Session-Id');
    this.#sessionId = sid;
    const note = await this.#post(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { 'mcp-protocol-version': LEGACY_PROTOCOL_VERSION, 'mcp-session-id': sid },
    );
    await note.body.dump();
  }

  /**
   * Calls a tool of the upstream (the path's tool prefix is added) and reads the whole answer.
   * `verify: 'parse'` parses the JSON-RPC message and requires a `result`; `'size'` only requires
   * at least `minBytes` of body that starts like a result (for multi-MiB answers).
   */
  async callTool(
    tool: string,
    args: Record<string, unknown>,
    verify: { mode: 'parse' } | { mode: 'size'; minBytes: number } = { mode: 'parse' },
  ): Promise<CallOutcome> {
    const name = `${this.#spec.toolPrefix}${tool}`;
    const id = this.#nextId++;
    const modern = this.#spec.era === 'modern';
    const body = modern
      ? {
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: {
            name,
            arguments: args,
            _meta: {
              'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
              'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        }
      : { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
    const headers: Record<string, string> = modern
      ? { 'mcp-method': 'tools/call', 'mcp-name': name, 'mcp-protocol-version': MODERN_PROTOCOL_VERSION }
      : { 'mcp-protocol-version': LEGACY_PROTOCOL_VERSION, 'mcp-session-id': this.#sessionId ?? '' };
    const res = await this.#post(body, headers);
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new BenchCallError(`${name}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    if (verify.mode === 'size') return { bytes: await readSized(res.body, verify.minBytes) };
    const { bytes, message } = await readMessage(res.body, res.headers['content-type']);
    if (!message || typeof message !== 'object' || !('result' in message)) {
      throw new BenchCallError(`${name}: no result: ${JSON.stringify(message).slice(0, 300)}`);
    }
    const result = (message as { result: { isError?: boolean } }).result;
    if (result.isError)
      throw new BenchCallError(`${name}: tool error: ${JSON.stringify(result).slice(0, 300)}`);
    return { bytes };
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }

  #post(body: unknown, headers: Record<string, string>) {
    return this.#pool.request({
      path: this.#path,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(body),
    });
  }
}

type Body = AsyncIterable<Buffer> & { text(): Promise<string> };

/** Reads a JSON or SSE answer and returns the (last) JSON-RPC message in it. */
async function readMessage(
  body: Body,
  contentType: string | string[] | undefined,
): Promise<{ bytes: number; message: unknown }> {
  const text = await body.text();
  const bytes = Buffer.byteLength(text);
  const type = String(contentType ?? '');
  if (type.includes('text/event-stream')) {
    let message: unknown;
    for (const line of text.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '') continue;
      const parsed = JSON.parse(data) as { id?: unknown; result?: unknown; error?: unknown };
      if ('result' in parsed || 'error' in parsed) message = parsed;
    }
    return { bytes, message };
  }
  return { bytes, message: text === '' ? undefined : JSON.parse(text) };
}

/** Counts the body's bytes without keeping them; checks size and that it carries a result. */
async function readSized(body: Body, minBytes: number): Promise<number> {
  let bytes = 0;
  let head = '';
  for await (const chunk of body) {
    if (head.length < 256) head += chunk.subarray(0, 256).toString('latin1');
    bytes += chunk.length;
  }
  if (bytes < minBytes) throw new BenchCallError(`answer of ${bytes} bytes, expected at least ${minBytes}`);
  if (!head.includes('"result"') && !head.includes('"content"')) {
    throw new BenchCallError(`answer does not start like a result: ${head.slice(0, 120)}`);
  }
  return bytes;
}
