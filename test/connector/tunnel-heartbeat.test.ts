import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tlsAlert } from '../../src/net/client-hello.js';
import { TunnelCodes } from '../../src/tunnel/protocol.js';
import { dialTunnel } from '../../src/tunnel/tunnel-client.js';
import { captureClientHello } from '../relay/capture-client-hello.js';
import { pingCountingDialer } from '../relay/ping-counting-dialer.js';
import {
  rawExchange,
  startEnrolledRelay,
  tunnelDialOptions,
  tunnelDowns,
  waitFor,
} from '../relay/relay-fixture.js';
import { startTcpForwarder } from '../relay/tcp-forwarder.js';

test('relay heartbeat: a half-open tunnel is removed within interval + timeout', async () => {
  const { fx, credential, echo } = await startEnrolledRelay({
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 300,
  });
  const forwarder = await startTcpForwarder(fx.connectTo);
  const downs = tunnelDowns(fx);
  const dialOptions = {
    ...tunnelDialOptions(fx, credential, echo),
    connectTo: { host: '127.0.0.1', port: forwarder.port },
  };
  const heartbeats = pingCountingDialer(dialOptions);
  const tunnel = await dialTunnel({
    ...dialOptions,
    dialer: heartbeats.dialer,
    heartbeatIntervalMs: 60_000, // the connector side does not notice in this test
    heartbeatTimeoutMs: 60_000,
  });
  try {
    await waitFor(() => fx.relay.tunnels().length === 1, 2000, 'registered');
    // The relay sends a PING only once the previous one was acknowledged: the third one seen from
    // here means at least two healthy heartbeat round trips have passed since registration.
    const seen = heartbeats.pings();
    await waitFor(() => heartbeats.pings() >= seen + 3, 5000, 'several healthy heartbeats');
    assert.equal(fx.relay.tunnels().length, 1, 'a healthy tunnel survives its heartbeats');
    forwarder.freeze();
    // The deadline is the bound: well over interval + timeout (400 ms) for a busy machine.
    await waitFor(() => fx.relay.tunnels().length === 0, 3000, 'relay dropped the dead tunnel within 3 s');
    assert.match(downs[0]?.reason ?? '', /heartbeat/);
    const answer = await rawExchange(
      fx.relay.port,
      await captureClientHello({ servername: 'acme.localhost' }),
    );
    assert.deepEqual(answer, tlsAlert(112), 'agents get a clean alert instead of a hang');
  } finally {
    tunnel.destroy();
    echo.close();
    await forwarder.close();
    await fx.close();
  }
});

test('connector heartbeat: a half-open tunnel ends with a retryable heartbeat error', async () => {
  const { fx, credential, echo } = await startEnrolledRelay({
    heartbeatIntervalMs: 60_000,
    heartbeatTimeoutMs: 60_000,
  });
  const forwarder = await startTcpForwarder(fx.connectTo);
  const tunnel = await dialTunnel({
    ...tunnelDialOptions(fx, credential, echo),
    connectTo: { host: '127.0.0.1', port: forwarder.port },
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 300,
  });
  try {
    forwarder.freeze();
    const reason = await tunnel.closed;
    assert.equal(reason.code, TunnelCodes.HEARTBEAT_TIMEOUT);
    assert.equal(reason.retryable, true);
  } finally {
    tunnel.destroy();
    echo.close();
    await forwarder.close();
    await fx.close();
  }
});
