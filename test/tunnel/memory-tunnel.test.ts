// Both tunnel ends over the in-memory dialer: hello and ready, agent streams both ways, a refused
// tunnel (the relay's GOAWAY reason reaches the connector), a connector that never answers, drain.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { text as readAll } from 'node:stream/consumers';
import { afterEach, describe, it } from 'node:test';
import { TunnelError } from '../../src/errors/airlock-error.js';
import { memoryDuplexPair, memoryTunnelDialer } from '../../src/tunnel/memory-tunnel.js';
import { TunnelCodes } from '../../src/tunnel/protocol.js';
import { RelayTunnel } from '../../src/tunnel/relay-tunnel.js';
import { dialTunnel, type TunnelConnection, type TunnelStreamMeta } from '../../src/tunnel/tunnel-client.js';
import { until } from '../fixtures/wait-until.js';

const RELAY_OPTIONS = { heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 60_000, maxStreamsPerTunnel: 10 };
const INFO = { tenant: 'acme', connectorId: 'con_1', transport: 'tls' as const, remoteAddress: 'memory' };

/** Connector options that never touch a socket: the dialer replaces the relay URL and credential. */
function connectorOptions(
  dialer: ReturnType<typeof memoryTunnelDialer>,
  onStream: (s: Duplex, m: TunnelStreamMeta) => void,
) {
  return {
    relayUrl: 'tls://relay.invalid:443',
    credential: { keyPem: '', certPem: '' },
    connectorId: 'con_1',
    slot: 3,
    helloTimeoutMs: 5_000,
    heartbeatIntervalMs: 60_000,
    heartbeatTimeoutMs: 60_000,
    dialer,
    onStream,
  };
}

/** What the tests of the calling `describe` open: destroyed after each test. */
function destroyedAfterEach(): Array<{ destroy(): void }> {
  const open: Array<{ destroy(): void }> = [];
  afterEach(() => {
    for (const o of open.splice(0)) o.destroy();
  });
  return open;
}

describe('in-memory tunnel: relay end and connector end', () => {
  const open = destroyedAfterEach();

  it('passes bytes both ways through a pair and ends and resets the peer', async () => {
    const [a, b] = memoryDuplexPair();
    const got = readAll(b);
    a.end('ping');
    assert.equal(await got, 'ping');
    const [c, d] = memoryDuplexPair();
    const closed = once(d, 'close');
    c.destroy();
    await closed;
    assert.equal(d.destroyed, true);
  });

  it('comes up with the hello, then carries an agent stream with its SNI and peer', async () => {
    let relay: RelayTunnel | undefined;
    const hello = new Promise<unknown>((resolve, reject) => {
      const dialer = memoryTunnelDialer((relaySide) => {
        relay = new RelayTunnel(INFO, relaySide, RELAY_OPTIONS);
        relay.requestHello(5_000).then((h) => {
          relay?.sendReady();
          resolve(h);
        }, reject);
      });
      const seen: TunnelStreamMeta[] = [];
      void dialTunnel(
        connectorOptions(dialer, (stream, meta) => {
          seen.push(meta);
          stream.setEncoding('utf8');
          stream.on('data', (chunk: string) => stream.end(`echo:${chunk}`));
        }),
      ).then((tunnel) => {
        open.push(tunnel);
        assert.equal(tunnel.transport, 'tls');
        assert.equal(tunnel.slot, 3);
      }, reject);
    });
    assert.deepEqual(await hello, { connectorId: 'con_1', slot: 3, version: 1 });
    assert.ok(relay);
    open.push(relay);
    await until('the relay end available', () => relay?.available === true);
    const stream = relay.openStream('acme.relay.test', '192.0.2.7:5000');
    const answer = readAll(stream);
    stream.write('hi');
    assert.equal(await answer, 'echo:hi');
  });
});

describe('in-memory tunnel: refusals and drain', () => {
  const open = destroyedAfterEach();

  it('gives the connector the relay’s refusal as a permanent TunnelError', async () => {
    const dialer = memoryTunnelDialer((relaySide) => {
      const relay = new RelayTunnel(INFO, relaySide, RELAY_OPTIONS);
      open.push(relay);
      void relay
        .requestHello(5_000)
        .then(() =>
          relay.reject({ code: TunnelCodes.CONNECTOR_REVOKED, message: 'revoked by the operator' }),
        );
    });
    const err = await dialTunnel(connectorOptions(dialer, () => assert.fail('no stream expected'))).then(
      () => assert.fail('a refused tunnel must not come up'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TunnelError);
    assert.equal(err.code, TunnelCodes.CONNECTOR_REVOKED);
    assert.equal(err.retryable, false);
    assert.match(err.message, /revoked by the operator/);
  });

  it('refuses a relay that never asks for the hello, in time', async () => {
    let relaySide: Duplex | undefined;
    const dialer = memoryTunnelDialer((side) => {
      relaySide = side; // a relay end that reads nothing and says nothing
      side.resume();
    });
    const err = await dialTunnel({ ...connectorOptions(dialer, () => {}), helloTimeoutMs: 200 }).then(
      () => assert.fail('no tunnel without a hello'),
      (e: unknown) => e,
    );
    relaySide?.destroy();
    assert.ok(err instanceof TunnelError);
    assert.equal(err.code, TunnelCodes.PROTOCOL);
  });

  it('drains: the relay sees the connector’s GOAWAY and opens no new stream', async () => {
    let relay: RelayTunnel | undefined;
    const dialer = memoryTunnelDialer((relaySide) => {
      relay = new RelayTunnel(INFO, relaySide, RELAY_OPTIONS);
      void relay.requestHello(5_000).then(() => relay?.sendReady());
    });
    const tunnel: TunnelConnection = await dialTunnel(connectorOptions(dialer, () => {}));
    assert.ok(relay);
    open.push(relay, tunnel);
    const relayClosed = once(relay, 'close');
    await tunnel.drain(1_000);
    await relayClosed;
    assert.equal(relay.available, false);
    assert.equal((await tunnel.closed).code, TunnelCodes.CLOSED);
  });
});
