/**
 * Wire errors: what an agent sees. Each carries a JSON-RPC error code; internal failures map to
 * -32603 and bad parameters to -32602. `data.airlock` carries the stable local code so a client can
 * tell *why* without parsing prose.
 */
import { AirlockError } from './airlock-error.js';

export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_METHOD_NOT_FOUND = -32601;
export const JSONRPC_INVALID_PARAMS = -32602;
export const JSONRPC_INTERNAL_ERROR = -32603;

export interface WireErrorBody {
  code: number;
  message: string;
  data?: { airlock: string; [key: string]: unknown };
}

export class WireError extends Error {
  readonly rpcCode: number;
  readonly airlockCode: string;
  readonly data: Record<string, unknown> | undefined;

  constructor(rpcCode: number, airlockCode: string, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = 'WireError';
    this.rpcCode = rpcCode;
    this.airlockCode = airlockCode;
    this.data = data;
  }

  toJSON(): WireErrorBody {
    return { code: this.rpcCode, message: this.message, data: { airlock: this.airlockCode, ...this.data } };
  }
}

/** Map any thrown value to the wire. Unknown failures never leak internals: -32603 with a generic text. */
export function toWireError(err: unknown): WireError {
  if (err instanceof WireError) return err;
  if (err instanceof AirlockError) {
    return new WireError(JSONRPC_INTERNAL_ERROR, err.code, err.message);
  }
  return new WireError(JSONRPC_INTERNAL_ERROR, 'AIRLOCK_INTERNAL', 'Internal error in the Airlock gateway');
}
