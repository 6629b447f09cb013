/**
 * Admission of a 2026-07-28 `subscriptions/listen`: the request runs through the gateway pipeline as the
 * request it is (audited, budgeted, each resource URI authorized, de-tokenized) before the SDK serves
 * the stream (agent-listen-stream.ts). A refusal comes back as an HTTP answer with the JSON-RPC error.
 *
 * @example
 * const admitted = await admitListen(pipeline, request, authInfo, ['file:///a']);
 * if ('refusal' in admitted) return admitted.refusal;
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import { JSONRPC_INTERNAL_ERROR, toWireError } from '../errors/wire-error.js';
import type { Handler } from '../gateway/gateway-context.js';
import { RequestTaint, withRequestTaint } from '../pii/request-taint.js';
import { listenGatewayContext } from './agent-gateway-context.js';
import { type AgentRequest, agentRequestStorage } from './agent-method-table.js';
import { refusalResponse } from './json-rpc-http-error.js';

/** The URIs to listen to after the pipeline (de-tokenized), or the refusal to answer. */
export async function admitListen(
  pipeline: Handler,
  request: Request,
  authInfo: AuthInfo | undefined,
  uris: string[],
): Promise<{ refusal: Response } | { uris: string[] }> {
  const ctx = listenGatewayContext(request, authInfo, uris);
  const holder = { listenUris: uris } as AgentRequest;
  try {
    await withRequestTaint(new RequestTaint(), () => agentRequestStorage.run(holder, () => pipeline(ctx)));
    return { uris: holder.listenUris ?? uris };
  } catch (err) {
    const wire = toWireError(err);
    return {
      refusal: refusalResponse({
        status: wire.rpcCode === JSONRPC_INTERNAL_ERROR ? 500 : 403,
        code: wire.rpcCode,
        airlock: wire.airlockCode,
        message: wire.message,
      }),
    };
  }
}
