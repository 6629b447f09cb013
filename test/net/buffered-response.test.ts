/**
 * BufferedResponse (src/net/buffered-response.ts) reads like a `Response` built over the same bytes:
 * same text (BOM, invalid UTF-8), JSON, single use, and every other body reader; a stream or no body
 * behaves as the base class does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferedResponse } from '../../src/net/buffered-response.js';

const URL_ = 'http://127.0.0.1:1/mcp';
const init = () => ({
  status: 200,
  statusText: 'OK',
  headers: new Headers({ 'content-type': 'application/json' }),
});
const bytesOf = (text: string) => new TextEncoder().encode(text);

describe('BufferedResponse', () => {
  it('is a Response with the request URL, status and real Headers', () => {
    const res = new BufferedResponse(init(), URL_, { bytes: bytesOf('{}') });
    assert.ok(res instanceof Response);
    assert.equal(res.url, URL_);
    assert.equal(res.ok, true);
    assert.equal(res.statusText, 'OK');
    assert.ok(res.headers instanceof Headers);
    assert.equal(res.headers.get('content-type'), 'application/json');
  });

  it('decodes text like a Response over the same bytes (BOM, invalid UTF-8)', async () => {
    const samples = [
      bytesOf('{"a":"ü"}'),
      new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf('"bom"')]),
      new Uint8Array([0x22, 0xff, 0xfe, 0x22]),
      new Uint8Array(0),
    ];
    for (const bytes of samples) {
      const mine = await new BufferedResponse(init(), URL_, { bytes }).text();
      assert.equal(mine, await new Response(bytes).text());
    }
    assert.deepEqual(
      await new BufferedResponse(init(), URL_, { bytes: samples[1] as Uint8Array }).json(),
      'bom',
    );
  });

  it('reads once: a second read rejects with a TypeError, as fetch does', async () => {
    const res = new BufferedResponse(init(), URL_, { bytes: bytesOf('{"x":1}') });
    assert.equal(res.bodyUsed, false);
    assert.deepEqual(await res.json(), { x: 1 });
    assert.equal(res.bodyUsed, true);
    await assert.rejects(res.text(), TypeError);
    await assert.rejects(res.arrayBuffer(), TypeError);
    assert.throws(() => res.clone(), TypeError);
    assert.equal(res.body, null);
    await assert.rejects(new BufferedResponse(init(), URL_, { bytes: bytesOf('nope') }).json(), SyntaxError);
  });
});

describe('BufferedResponse: other readers', () => {
  it('gives the same bytes to body, arrayBuffer, blob and clone', async () => {
    const bytes = bytesOf('{"y":2}');
    const a = new BufferedResponse(init(), URL_, { bytes });
    assert.deepEqual(new Uint8Array(await a.arrayBuffer()), bytes);
    assert.equal(a.bodyUsed, true);
    await assert.rejects(a.text(), TypeError);

    const b = new BufferedResponse(init(), URL_, { bytes });
    assert.equal(await (await b.blob()).text(), '{"y":2}');

    const c = new BufferedResponse(init(), URL_, { bytes });
    const copy = c.clone();
    assert.deepEqual(await copy.json(), { y: 2 });
    assert.deepEqual(await c.json(), { y: 2 });

    const d = new BufferedResponse(init(), URL_, { bytes });
    const reader = (d.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.deepEqual(first.value, bytes);
    reader.releaseLock();
    assert.equal(d.bodyUsed, true);
    await assert.rejects(d.text(), TypeError);
  });

  it('reads a stream body, and no body, as the base class does', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytesOf('data: 1\n\n'));
        controller.close();
      },
    });
    const streamed = new BufferedResponse(init(), URL_, { stream });
    assert.ok(streamed.body instanceof ReadableStream);
    assert.equal(await streamed.text(), 'data: 1\n\n');
    assert.equal(streamed.bodyUsed, true);
    const empty = new BufferedResponse({ status: 204 }, URL_, null);
    assert.equal(empty.body, null);
    assert.equal(await empty.text(), '');
    assert.equal(empty.url, URL_);
  });
});

describe('BufferedResponse after a library replaced the global Response', () => {
  it('still reads bodies and headers (@hono/node-server swaps in its own Response)', async () => {
    const original = { Request: globalThis.Request, Response: globalThis.Response };
    const { getRequestListener } = await import('@hono/node-server');
    getRequestListener(() => new Response('x'));
    try {
      assert.notEqual(globalThis.Response, original.Response, 'the global was replaced');
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytesOf('data: 2\n\n'));
          controller.close();
        },
      });
      const streamed = new BufferedResponse(init(), URL_, { stream });
      assert.ok(streamed.body, 'the stream is there');
      assert.equal(await streamed.text(), 'data: 2\n\n');
      const read = new BufferedResponse(init(), URL_, { bytes: bytesOf('{"z":3}') });
      assert.equal(read.headers.get('content-type'), 'application/json');
      assert.deepEqual(new Uint8Array(await read.clone().arrayBuffer()), bytesOf('{"z":3}'));
      assert.deepEqual(await read.json(), { z: 3 });
    } finally {
      Object.defineProperty(globalThis, 'Request', { value: original.Request });
      Object.defineProperty(globalThis, 'Response', { value: original.Response });
    }
  });
});
