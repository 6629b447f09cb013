/**
 * Upstream-fetch benchmark: the client CPU one MCP `tools/call` POST costs through the global WHATWG
 * `fetch` (what the connector used towards HTTP upstreams) and through `createUndiciFetch`
 * (src/net/undici-fetch.ts, what it uses now), same run, same requests as the SDK transport sends
 * them (Headers, a string body, `redirect: 'manual'`, the transport's shared abort signal). The echo
 * server runs in a child process, so `process.cpuUsage()` here is the client's alone. Each path runs
 * `--calls` requests one after another and `--calls` with `--concurrency` in flight, for a JSON and an
 * SSE answer, in `--rounds` alternating rounds; the best round per path is kept (the machine is shared,
 * other work only ever adds CPU time).
 *
 * Usage: npm run build && node dist/bench/pipeline/upstream-fetch-cpu.js [--calls 5000] [--concurrency 16] [--rounds 3]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createUndiciFetch } from '../../src/net/undici-fetch.js';

const { values } = parseArgs({
  options: { calls: { type: 'string' }, concurrency: { type: 'string' }, rounds: { type: 'string' } },
});
const CALLS = Number(values.calls ?? 5_000);
const CONCURRENCY = Number(values.concurrency ?? 16);
const ROUNDS = Number(values.rounds ?? 3);
const WARM_UP = 500;

/** The echo server: answers each POST with a JSON-RPC result, as JSON or (path /sse) as one SSE event. */
const SERVER = `
const http = require('node:http');
const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const id = JSON.parse(Buffer.concat(chunks).toString()).id;
    const answer = JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'hi' }] } });
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end('event: message\\ndata: ' + answer + '\\n\\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

type Fetch = (url: URL, init: RequestInit) => Promise<Response>;

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

/** `calls` POSTs, `concurrency` at a time; returns client CPU µs per request. */
async function measure(f: Fetch, url: URL, calls: number, concurrency: number): Promise<number> {
  const transportSignal = new AbortController().signal;
  let id = 0;
  const one = async () => {
    const headers = new Headers({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    });
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'echo' } });
    const res = await f(url, { method: 'POST', headers, body, signal: transportSignal, redirect: 'manual' });
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await (url.pathname === '/sse' ? res.text() : res.json());
  };
  let next = 0;
  const worker = async () => {
    while (next++ < calls) await one();
  };
  const start = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

async function main(): Promise<void> {
  const { child, port } = await startServer();
  const pooled = createUndiciFetch();
  const paths: Record<string, Fetch> = { 'global fetch': fetch, createUndiciFetch: pooled };
  const best = new Map<string, number>();
  try {
    for (const answer of ['json', 'sse']) {
      const url = new URL(`http://127.0.0.1:${port}/${answer}`);
      for (const f of Object.values(paths)) await measure(f, url, WARM_UP, 4);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, f] of Object.entries(paths)) {
          for (const concurrency of [1, CONCURRENCY]) {
            const key = `${answer} | concurrency ${concurrency} | ${name}`;
            const us = await measure(f, url, CALLS, concurrency);
            best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, us));
          }
        }
      }
    }
  } finally {
    await pooled.close();
    child.kill();
  }
  report(best);
}

function report(best: Map<string, number>): void {
  console.log(`client CPU per request (best of ${ROUNDS} rounds of ${CALLS} calls), µs`);
  console.log('| answer | concurrency | global fetch | createUndiciFetch | ratio |');
  console.log('|---|---|---|---|---|');
  for (const answer of ['json', 'sse']) {
    for (const concurrency of [1, CONCURRENCY]) {
      const g = best.get(`${answer} | concurrency ${concurrency} | global fetch`) ?? Number.NaN;
      const u = best.get(`${answer} | concurrency ${concurrency} | createUndiciFetch`) ?? Number.NaN;
      console.log(
        `| ${answer} | ${concurrency} | ${g.toFixed(0)} | ${u.toFixed(0)} | ${(u / g).toFixed(2)}× |`,
      );
    }
  }
}

await main();
