/**
 * Gateway failures → the SDK's `ProtocolError`, which the SDK `Server` writes to the wire with its code,
 * message and data. Upstream `ProtocolError`s pass through untouched; Airlock `WireError`s keep their
 * JSON-RPC code and carry `data.airlock`; anything else becomes a generic -32603 that leaks nothing.
 *
 * @example
 * server.setRequestHandler('tools/call', async (req, ctx) => {
 *   try { return await pipeline(gatewayCtx); } catch (err) { throw toProtocolError(err); }
 * });
 */
import { ProtocolError } from '@modelcontextprotocol/server';
import { toWireError } from '../errors/wire-error.js';

export function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const wire = toWireError(err);
  return new ProtocolError(wire.rpcCode, wire.message, { airlock: wire.airlockCode, ...wire.data });
}
