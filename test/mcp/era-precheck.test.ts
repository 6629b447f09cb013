/**
 * The agent endpoint's era pre-check (src/mcp/era-precheck.ts) only ever answers "surely modern" for
 * bodies the SDK's own classifier does not route to the 2025-11-25 leg, whatever the headers say; the
 * rest still go to `isLegacyRequest`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { surelyModern } from '../../src/mcp/era-precheck.js';

const VERSIONS = ['2026-07-28', '2025-11-25', '2025-06-18', 'bogus', 7];

const body = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '1.0'),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    method: fc.oneof(
      fc.constantFrom('tools/call', 'initialize', 'notifications/initialized', 'ping'),
      fc.integer(),
    ),
    params: fc.oneof(
      fc.constant(undefined),
      fc.constant([]),
      fc.record(
        {
          name: fc.string(),
          _meta: fc.oneof(
            fc.constant(null),
            fc.dictionary(
              fc.constantFrom(PROTOCOL_VERSION_META_KEY, 'io.modelcontextprotocol/clientInfo', 'other'),
              fc.oneof(fc.constantFrom(...VERSIONS), fc.record({ name: fc.string(), version: fc.string() })),
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    result: fc.object(),
    error: fc.record({ code: fc.integer(), message: fc.string() }),
  },
  { requiredKeys: [] },
);

function request(headers: Record<string, string>): Request {
  return new Request('https://tenant.example/mcp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });
}

describe('surelyModern', () => {
  it('never claims a body the SDK would route to the legacy leg', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('2026-07-28', '2025-11-25', undefined),
        fc.constantFrom('tools/call', 'initialize', undefined),
        async (b, version, mcpMethod) => {
          if (!surelyModern(b)) return;
          const headers: Record<string, string> = {};
          if (version) headers['mcp-protocol-version'] = version;
          if (mcpMethod) headers['mcp-method'] = mcpMethod;
          assert.equal(await isLegacyRequest(request(headers), b), false, JSON.stringify(b));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('claims the enveloped request an SDK client sends, and leaves the rest to the SDK', () => {
    const modern = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', _meta: { [PROTOCOL_VERSION_META_KEY]: '2026-07-28' } },
    };
    assert.equal(surelyModern(modern), true);
    assert.equal(surelyModern({ ...modern, method: 'initialize' }), false);
    assert.equal(surelyModern({ ...modern, params: { name: 'echo' } }), false);
    assert.equal(surelyModern({ jsonrpc: '2.0', id: 1, result: {} }), false);
    assert.equal(surelyModern([modern]), false);
  });
});
