/**
 * The Node face of the agent endpoint: the path check, and the raw-body checks made before the SDK sees a
 * POST (size, UTF-8, JSON nesting depth, JSON syntax), each refused with its own JSON-RPC error and HTTP
 * status. The body is parsed once and handed on.
 *
 * @example
 * await handleNodeRequest(req, res, { path: '/mcp', maxBody, maxJsonDepth, track, serve });
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JSONRPC_INVALID_REQUEST, JSONRPC_PARSE_ERROR } from '../errors/wire-error.js';
import { readBoundedBody } from '../net/bounded-body.js';
import { checkJsonBody } from './json-body-check.js';
import { type refusalResponse, writeRefusal } from './json-rpc-http-error.js';

export interface NodeEntryOptions {
  path: string;
  maxBody: number;
  maxJsonDepth: number;
  /** Counts the request on its legacy session. */
  track: (req: IncomingMessage, res: ServerResponse) => void;
  /** The SDK's Node handler (with the parsed body for a POST). */
  serve: (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown) => Promise<void>;
}

export async function handleNodeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  o: NodeEntryOptions,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== o.path) {
    writeRefusal(res, {
      status: 404,
      code: -32000,
      airlock: 'AIRLOCK_NOT_FOUND',
      message: `Not found; the MCP endpoint is ${o.path}`,
    });
    return;
  }
  o.track(req, res);
  if (req.method !== 'POST') return o.serve(req, res);
  // Check the raw bytes here: the web Request built later would already carry a lossy decode.
  const raw = await readBoundedBody(req, o.maxBody);
  if (raw === undefined) {
    writeRefusal(res, {
      status: 413,
      code: JSONRPC_INVALID_REQUEST,
      airlock: 'AIRLOCK_BODY_TOO_LARGE',
      message: `Request body larger than ${o.maxBody} bytes`,
    });
    return;
  }
  const refusal = bodyRefusal(raw, o.maxJsonDepth);
  if (refusal) return writeRefusal(res, refusal);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    writeRefusal(res, {
      status: 400,
      code: JSONRPC_PARSE_ERROR,
      airlock: 'AIRLOCK_BODY_INVALID',
      message: 'Parse error: the request body is not valid JSON',
    });
    return;
  }
  await o.serve(req, res, parsed);
}

/** A refusal for a body with invalid UTF-8 (-32700) or nesting beyond `maxDepth` (-32600). */
export function bodyRefusal(
  bytes: Uint8Array,
  maxDepth: number,
): Parameters<typeof refusalResponse>[0] | undefined {
  const problem = checkJsonBody(bytes, { maxDepth });
  if (!problem) return undefined;
  return {
    status: 400,
    code: problem.kind === 'encoding' ? JSONRPC_PARSE_ERROR : JSONRPC_INVALID_REQUEST,
    airlock: problem.kind === 'encoding' ? 'AIRLOCK_BODY_ENCODING' : 'AIRLOCK_BODY_TOO_DEEP',
    message: `${problem.kind === 'encoding' ? 'Parse error' : 'Invalid request'}: ${problem.message}`,
  };
}
