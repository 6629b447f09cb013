// The relay's agent pipe when a tunnel stream is refused or lost before the connector answered: the
// agent's bytes go to another stream (a draining tunnel must not fail a new call), and never once a
// byte has reached the agent. Real sockets on loopback: an HTTP/2 server plays the connector's side of
// the tunnel (each stream does what the test's script says), a TCP pair is the agent's connection.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { after, test } from 'node:test';
import { TlsAlert, tlsAlert } from '../../src/net/client-hello.js';
import { pipeAgent } from '../../src/relay/agent-pipe.js';
import { until } from '../fixtures/wait-until.js';

/** What the connector side does with a stream: refuse it, drop it, or answer (and then maybe drop it). */
type Behaviour = '503' | 'refused-stream' | 'empty-200' | 'echo' | 'echo-then-reset' | 'hold';

const HELLO = Buffer.from('client-hello-bytes');
const script: Behaviour[] = [];
/** Bytes each answered stream received, in stream order. */
const received: Buffer[][] = [];
/** Streams left unanswered ('hold'). */
const held: http2.ServerHttp2Stream[] = [];

const server = http2.createServer();
server.on('stream', (stream) => {
  const behaviour = script.shift() ?? 'echo';
  stream.on('error', () => {}); // the server's end of a stream it reset reports that reset
  if (behaviour === '503') return void stream.respond({ ':status': 503 }, { endStream: true });
  if (behaviour === 'refused-stream') return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  if (behaviour === 'empty-200') return void stream.respond({ ':status': 200 }, { endStream: true });
  if (behaviour === 'hold') return void held.push(stream);
  const got: Buffer[] = [];
  received.push(got);
  stream.respond({ ':status': 200 });
  stream.on('data', (chunk: Buffer) => {
    got.push(chunk);
    stream.write(Buffer.concat([Buffer.from('echo:'), chunk]));
    if (behaviour === 'echo-then-reset') stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as net.AddressInfo;
const session = http2.connect(`http://127.0.0.1:${port}`);
after(() => {
  for (const stream of held) stream.close(http2.constants.NGHTTP2_CANCEL);
  session.destroy();
  server.close();
});

function openStream(): http2.ClientHttp2Stream {
  return session.request({ ':method': 'POST', ':path': '/stream' });
}

/** A loopback TCP connection: `agent` is the agent's end, `relaySide` the socket the relay would pipe. */
async function agentConnection(): Promise<{ agent: net.Socket; relaySide: net.Socket; close(): void }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const agent = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const [relaySide] = (await accepted) as [net.Socket];
  return {
    agent,
    relaySide,
    close: () => {
      agent.destroy();
      relaySide.destroy();
      listener.close();
    },
  };
}

/** Pipes a new agent connection with `behaviours` scripted for its streams; reports what happened. */
async function pipeWith(
  behaviours: Behaviour[],
  options: { reroutes?: number; maxReplayBytes?: number } = {},
) {
  script.splice(0, script.length, ...behaviours);
  received.length = 0;
  const conn = await agentConnection();
  const toAgent: Buffer[] = [];
  conn.agent.on('data', (chunk: Buffer) => toAgent.push(chunk));
  const agentClosed = once(conn.agent, 'close');
  const outcome = { reroutes: 0, refusedWith: [] as (number | undefined)[], closed: false };
  let left = options.reroutes ?? 3;
  pipeAgent({
    socket: conn.relaySide,
    stream: openStream(),
    firstBytes: HELLO,
    maxReplayBytes: options.maxReplayBytes ?? 16 * 1024,
    onBytes: () => {},
    onRefused: (status) => outcome.refusedWith.push(status),
    onClose: () => {
      outcome.closed = true;
    },
    reroute: () => {
      if (left-- <= 0) return undefined;
      outcome.reroutes++;
      return openStream();
    },
  });
  return { conn, toAgent: () => Buffer.concat(toAgent).toString('latin1'), agentClosed, outcome };
}

test('a stream refused with 503 (a draining tunnel) is replayed on the next stream: the agent gets its answer', async () => {
  const run = await pipeWith(['503', 'echo']);
  await until('the answer', () => run.toAgent() === `echo:${HELLO.toString('latin1')}`);
  assert.equal(run.outcome.reroutes, 1);
  assert.deepEqual(run.outcome.refusedWith, []);
  // The answering stream got the agent's bytes exactly once, and then what the agent sends next.
  run.conn.agent.write('finished-message');
  await until('the next bytes', () => run.toAgent().endsWith('echo:finished-message'));
  assert.deepEqual(
    received[0]?.map((b) => b.toString('latin1')),
    [HELLO.toString('latin1'), 'finished-message'],
  );
  run.conn.close();
  await until('the pipe closed', () => run.outcome.closed);
});

test('a stream refused by the connector (RST REFUSED_STREAM) or ended empty is replayed too, more than once', async () => {
  const run = await pipeWith(['refused-stream', 'empty-200', 'echo']);
  await until('the answer', () => run.toAgent() === `echo:${HELLO.toString('latin1')}`);
  assert.equal(run.outcome.reroutes, 2);
  assert.equal(received.length, 1);
  run.conn.close();
});

test('with no other stream to go to, the agent gets a TLS internal_error alert and the refusal is counted once', async () => {
  const run = await pipeWith(['503', '503'], { reroutes: 1 });
  await run.agentClosed;
  assert.equal(run.toAgent(), tlsAlert(TlsAlert.internal_error).toString('latin1'));
  assert.equal(run.outcome.reroutes, 1);
  assert.deepEqual(run.outcome.refusedWith, [503]);
  await until('the pipe closed', () => run.outcome.closed);
  run.conn.close();
});

test('once a byte has reached the agent, a lost stream ends the agent connection: nothing is replayed', async () => {
  const run = await pipeWith(['echo-then-reset', 'echo']);
  await run.agentClosed;
  assert.equal(run.toAgent(), `echo:${HELLO.toString('latin1')}`);
  assert.equal(run.outcome.reroutes, 0);
  assert.deepEqual(run.outcome.refusedWith, []);
  assert.equal(received.length, 1);
  await until('the pipe closed', () => run.outcome.closed);
  run.conn.close();
});

test('an agent that sent more than the replay bound before any answer is refused, not replayed', async () => {
  // A bound below the ClientHello's size: what the agent sent cannot be replayed whole.
  const run = await pipeWith(['refused-stream', 'echo'], { maxReplayBytes: HELLO.length - 1 });
  await run.agentClosed;
  assert.equal(run.outcome.reroutes, 0);
  assert.deepEqual(run.outcome.refusedWith, [undefined]);
  assert.equal(run.toAgent(), tlsAlert(TlsAlert.internal_error).toString('latin1'));
  run.conn.close();
});

test('an agent that goes away before any answer is neither replayed nor counted as refused', async () => {
  // The first stream is never answered ('hold'): the agent closes while it waits.
  const run = await pipeWith(['hold']);
  await until('the stream reached the connector side', () => held.length > 0);
  run.conn.agent.destroy();
  await until('the pipe closed', () => run.outcome.closed);
  assert.equal(run.outcome.reroutes, 0);
  assert.deepEqual(run.outcome.refusedWith, []);
  run.conn.close();
});
