import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { readBoundedBody, readBoundedText } from '../../src/net/bounded-body.js';

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const p of parts) yield p;
}

/** A real server that answers 413 or echoes the body length, read with `drain`. */
async function withServer(limit: number, fn: (port: number) => Promise<void>): Promise<void> {
  const server = createServer(async (req, res) => {
    const body = await readBoundedText(req, limit, { drain: true });
    res
      .writeHead(body === undefined ? 413 : 200)
      .end(body === undefined ? 'too large' : `got ${body.length}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

function post(port: number, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bounded body reading', () => {
  it('returns the bytes up to the limit, mixing string and binary chunks', async () => {
    const body = await readBoundedBody(chunks('ab', new Uint8Array([0x63, 0x64])), 4);
    assert.equal(body?.toString('utf8'), 'abcd');
    assert.equal(await readBoundedText(chunks('é'), 2), 'é');
    assert.equal(await readBoundedText(chunks(), 0), '');
  });

  it('refuses one byte over the limit, and stops pulling chunks at once without drain', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        pulled++;
        yield new Uint8Array(1024);
      }
    }
    assert.equal(await readBoundedBody(endless(), 10 * 1024 - 1), undefined);
    assert.equal(pulled, 10, 'an endless body is not read past the limit');
    assert.equal(await readBoundedText(chunks('é'), 1), undefined, 'the limit counts UTF-8 bytes');
  });

  it('drains an oversized body over real HTTP so the 413 reaches the client', async () => {
    await withServer(1024, async (port) => {
      assert.deepEqual(await post(port, Buffer.alloc(1024, 0x61)), { status: 200, text: 'got 1024' });
      const big = await post(port, Buffer.alloc(256 * 1024, 0x61));
      assert.deepEqual(big, { status: 413, text: 'too large' });
    });
  });

  it('cancels a web ReadableStream left early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(100));
      },
      cancel() {
        cancelled = true;
      },
    });
    assert.equal(await readBoundedText(stream as unknown as AsyncIterable<Uint8Array>, 150), undefined);
    assert.equal(cancelled, true);
  });
});
