/**
 * createUndiciFetch (src/net/undici-fetch.ts) against a real HTTP server: what the MCP SDK transport
 * relies on (JSON and SSE answers, bodies, headers, aborts, bodiless statuses, redirects left to the
 * caller), failures that look like fetch's, and the per-call headers of fetchWithUpstreamHeaders.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  fetchWithUpstreamHeaders,
  runWithUpstreamHeaders,
} from '../../src/identity/upstream-token-context.js';
import { createUndiciFetch, type UndiciFetch } from '../../src/net/undici-fetch.js';
import { until, untilSettled } from '../fixtures/wait-until.js';
import { startTestServer, type TestServer } from './undici-fetch-server.js';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const POST = { method: 'POST', headers: JSON_HEADERS, redirect: 'manual' } as const;

interface Echo {
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** Reads the next SSE event's data from `reader` (events here are one `data:` line each). */
async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, pending: { text: string }) {
  const decoder = new TextDecoder();
  for (;;) {
    const end = pending.text.indexOf('\n\n');
    if (end !== -1) {
      const event = pending.text.slice(0, end);
      pending.text = pending.text.slice(end + 2);
      return event.replace(/^data: /, '');
    }
    const { value, done } = await reader.read();
    if (done) return undefined;
    pending.text += decoder.decode(value, { stream: true });
  }
}

let server: TestServer;
let pooled: UndiciFetch;
before(async () => {
  server = await startTestServer();
  pooled = createUndiciFetch();
});
after(async () => {
  await pooled.close();
  await server.close();
});

/** The connection of the latest request to `path`, once the server has it. */
const latest = (path: string) =>
  until(`a request to ${path}`, () => server.received.filter((r) => r.path === path).at(-1)?.socket);

describe('createUndiciFetch: answers', () => {
  it('sends method, headers and string or byte bodies, and answers JSON with real Headers', async () => {
    const res = await pooled(new URL(`${server.url}/echo?x=1`), { ...POST, body: '{"jsonrpc":"2.0"}' });
    assert.equal(res.status, 200);
    assert.ok(res.headers instanceof Headers);
    assert.equal(res.headers.get('x-answer'), 'yes');
    assert.equal(res.url, `${server.url}/echo?x=1`);
    const echo = (await res.json()) as Echo;
    assert.equal(echo.method, 'POST');
    assert.equal(echo.body, '{"jsonrpc":"2.0"}');
    assert.equal(echo.headers['content-type'], 'application/json');
    assert.equal(echo.headers.accept, 'application/json, text/event-stream');
    assert.equal(echo.headers['content-length'], '17');

    const bytes = new TextEncoder().encode('ünïcode');
    const second = await pooled(`${server.url}/echo`, { method: 'put', body: bytes, redirect: 'manual' });
    const echo2 = (await second.json()) as Echo;
    assert.equal(echo2.method, 'PUT', 'the method is upper-cased as fetch does');
    assert.equal(echo2.body, 'ünïcode');
    assert.equal(echo2.headers['user-agent'], 'node', "fetch's default user agent");
    assert.equal(echo2.headers.accept, '*/*');
  });

  it('keeps one connection alive across sequential calls', async () => {
    const before = server.connections;
    for (let i = 0; i < 5; i++) await (await pooled(`${server.url}/echo`, { ...POST, body: '{}' })).text();
    assert.ok(server.connections - before <= 1, `opened ${server.connections - before} connections`);
  });

  it('answers 202 and 204 without a body, and HEAD without one', async () => {
    for (const status of [202, 204]) {
      const res = await pooled(`${server.url}/status/${status}`, { ...POST, body: '{}' });
      assert.equal(res.status, status);
      assert.equal(await res.text(), '');
    }
    const head = await pooled(`${server.url}/echo`, { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
  });

  it('streams text/event-stream: the first event is readable before the server ends the stream', async () => {
    const res = await pooled(`${server.url}/sse`, { ...POST, body: '{}' });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const pending = { text: '' };
    assert.equal(await nextEvent(reader, pending), '{"n":1}');
    assert.equal(server.sseWaiting.length, 1, 'the server has not ended the stream yet');
    server.releaseSse();
    assert.equal(await nextEvent(reader, pending), '{"n":2}');
    assert.equal(await nextEvent(reader, pending), undefined);
  });

  it('decodes a compressed answer the server sends unasked', async () => {
    const res = await pooled(`${server.url}/gzip`, { method: 'GET', redirect: 'manual' });
    assert.deepEqual(await res.json(), { compressed: true });
  });
});

describe('createUndiciFetch: aborts and failures', () => {
  it('rejects an abort before the answer with the AbortError and releases the connection', async () => {
    const controller = new AbortController();
    const call = pooled(`${server.url}/hold`, { ...POST, body: '{}', signal: controller.signal });
    const socket = await latest('/hold');
    controller.abort();
    await assert.rejects(call, { name: 'AbortError' });
    await until('the held connection closed', () => socket.destroyed);
    const already = new AbortController();
    already.abort(new Error('gone before'));
    await assert.rejects(pooled(`${server.url}/echo`, { ...POST, signal: already.signal }), /gone before/);
  });

  it('errors an SSE body aborted mid-stream with the AbortError and releases the connection', async () => {
    const controller = new AbortController();
    const res = await pooled(`${server.url}/sse`, { ...POST, body: '{}', signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    assert.equal(await nextEvent(reader, { text: '' }), '{"n":1}');
    const socket = await latest('/sse');
    controller.abort();
    await assert.rejects(reader.read(), { name: 'AbortError' });
    await until('the SSE connection closed', () => socket.destroyed);
    server.sseWaiting.splice(0);
  });

  it('fails like fetch when the upstream dies mid-body, for JSON and for SSE', async () => {
    await assert.rejects(pooled(`${server.url}/die-json`, { ...POST, body: '{}' }), (err: Error) => {
      assert.ok(err instanceof TypeError, 'a TypeError, as the upstream classifier expects');
      assert.ok(err.cause, 'the undici error is the cause');
      return true;
    });
    const res = await pooled(`${server.url}/die-sse`, { ...POST, body: '{}' });
    await assert.rejects(untilSettled('the broken stream fails', res.text()));
  });

  it('fails with a TypeError when nothing listens, and after close()', async () => {
    const other = createUndiciFetch();
    await other.close();
    await assert.rejects(other(`${server.url}/echo`, { ...POST, body: '{}' }), TypeError);
    await assert.rejects(pooled('http://127.0.0.1:1/mcp', { ...POST, body: '{}' }), TypeError);
  });

  it('cuts a silent server after headersTimeoutMs with a TypeError', async () => {
    const impatient = createUndiciFetch({ headersTimeoutMs: 200 });
    try {
      await assert.rejects(impatient(`${server.url}/hold`, { ...POST, body: '{}' }), (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.equal((err.cause as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
        return true;
      });
    } finally {
      await impatient.close();
    }
  });
});

describe('createUndiciFetch: the body cap', () => {
  it('fails an answer over maxBodyBytes like a lost connection, declared or not, and keeps serving', async () => {
    const capped = createUndiciFetch({ maxBodyBytes: 1024 });
    try {
      for (const path of ['/big-declared', '/big-chunked']) {
        await assert.rejects(
          capped(`${server.url}${path}`, { method: 'GET', redirect: 'manual' }),
          (err: unknown) => {
            assert.ok(err instanceof TypeError, `${path}: a TypeError like fetch's`);
            assert.match(String((err as TypeError).cause), /larger than 1024 bytes|more than 1024 bytes/);
            return true;
          },
        );
      }
      // The SSE answer to a POST is one request's answer: held to the same cap, failing as fetch fails.
      const answer = await capped(`${server.url}/sse-endless`, { ...POST, body: 'x' });
      await assert.rejects(answer.text(), (err: unknown) => {
        assert.ok(err instanceof TypeError, 'a TypeError like fetch');
        assert.match(String((err as TypeError).cause), /answer stream is larger than 1024 bytes/);
        return true;
      });
      // A notification stream (GET): events may add up to any size, but one event may not grow without end.
      const events = await capped(`${server.url}/sse-endless`, { method: 'GET', redirect: 'manual' });
      const reader = events.body?.getReader();
      let read = 0;
      while (read < 16 * 1024) read += (await reader?.read())?.value?.length ?? 0;
      await reader?.cancel();
      const endless = await capped(`${server.url}/sse-endless-event`, { method: 'GET', redirect: 'manual' });
      await assert.rejects(endless.text(), (err: unknown) => {
        assert.ok(err instanceof TypeError, 'a TypeError like fetch');
        assert.match(String((err as TypeError).cause), /an event of the stream is larger than 1024 bytes/);
        return true;
      });
      const small = await capped(`${server.url}/echo`, { ...POST, body: 'ok' });
      assert.equal(((await small.json()) as Echo).body, 'ok');
    } finally {
      await capped.close();
    }
  });
});

describe('createUndiciFetch: redirects and per-call headers', () => {
  it('leaves redirects to the caller in manual mode, as the global fetch does, and follows them by default', async () => {
    const mine = await pooled(`${server.url}/redirect`, { method: 'GET', redirect: 'manual' });
    const theirs = await fetch(`${server.url}/redirect`, { method: 'GET', redirect: 'manual' });
    assert.equal(mine.status, theirs.status);
    assert.equal(mine.headers.get('location'), theirs.headers.get('location'));
    await assert.rejects(pooled(`${server.url}/redirect`, { redirect: 'error' }), TypeError);
    const followed = await pooled(`${server.url}/redirect`);
    assert.equal(followed.status, 200);
    assert.equal(((await followed.json()) as Echo).method, 'GET');
  });

  it('carries the per-call headers of fetchWithUpstreamHeaders, each call its own', async () => {
    const upstreamFetch = fetchWithUpstreamHeaders(pooled);
    const call = async (token?: string) => {
      const send = () =>
        upstreamFetch(`${server.url}/echo`, {
          ...POST,
          headers: new Headers({ ...JSON_HEADERS, authorization: 'static', 'x-static': 's' }),
          body: '{}',
        });
      const res = token ? await runWithUpstreamHeaders({ authorization: token }, send) : await send();
      return ((await res.json()) as Echo).headers;
    };
    const [a, b, none] = await Promise.all([call('Bearer a'), call('Bearer b'), call()]);
    assert.equal(a.authorization, 'Bearer a');
    assert.equal(b.authorization, 'Bearer b');
    assert.equal(none.authorization, 'static');
    assert.equal(a['x-static'], 's');
  });
});
