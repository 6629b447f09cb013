/**
 * The connector's HTTP connections to upstreams (upstreamHttpOptions in connector-upstreams.ts):
 * undici's defaults, as the global fetch had, except that no transport timeout is shorter than
 * `mcp.upstreamTimeoutMs` (the MCP client's own request timeout decides first).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upstreamHttpOptions } from '../../src/connector/connector-upstreams.js';
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from '../../src/mcp/upstream-types.js';
import {
  DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS,
  DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS,
} from '../../src/net/undici-fetch.js';

describe('upstreamHttpOptions', () => {
  it('keeps the global fetch timeouts with the default upstream timeout', () => {
    assert.deepEqual(upstreamHttpOptions(DEFAULT_UPSTREAM_TIMEOUT_MS), {
      headersTimeoutMs: DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS,
    });
    assert.equal(
      DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS,
      300_000,
      "undici's (and the global fetch's) default",
    );
  });

  it('never cuts a call before mcp.upstreamTimeoutMs', () => {
    const hour = 3_600_000;
    assert.deepEqual(upstreamHttpOptions(hour), { headersTimeoutMs: hour, bodyTimeoutMs: hour });
  });
});
