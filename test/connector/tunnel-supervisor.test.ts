import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SupervisorStatus, TunnelSupervisor } from '../../src/connector/tunnel-supervisor.js';
import { tlsAlert } from '../../src/net/client-hello.js';
import { openStore } from '../../src/store/open-store.js';
import { type Clock, systemClock } from '../../src/supervision/clock.js';
import { TunnelCodes } from '../../src/tunnel/protocol.js';
import { captureClientHello } from '../relay/capture-client-hello.js';
import {
  agentConnect,
  agentEcho,
  enroll,
  rawExchange,
  roundTrip,
  startEchoEndpoint,
  startEnrolledRelay,
  startRelayFixture,
  tunnelDialOptions,
  tunnelDowns,
  waitFor,
} from '../relay/relay-fixture.js';
import { startTcpForwarder } from '../relay/tcp-forwarder.js';

const fastBackoff = { initialMs: 20, maxMs: 200 };

/** The system clock, keeping the timers it has pending: every retry the supervisor plans is one of them. */
function trackingClock(): Clock & { pending: Set<unknown> } {
  const pending = new Set<unknown>();
  return {
    pending,
    now: () => systemClock.now(),
    setTimeout(fn, ms) {
      const handle = systemClock.setTimeout(() => {
        pending.delete(handle);
        fn();
      }, ms);
      pending.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      pending.delete(handle);
      systemClock.clearTimeout(handle);
    },
  };
}

for (const transport of ['tls', 'websocket'] as const) {
  test(`keeps N tunnels over ${transport}, reports status, spreads agent streams`, async () => {
    const { fx, credential, echo } = await startEnrolledRelay();
    const supervisor = new TunnelSupervisor({
      ...tunnelDialOptions(fx, credential, echo),
      relayUrl: transport === 'tls' ? fx.tlsUrl : fx.wssUrl,
      tunnels: 2,
      backoff: fastBackoff,
    });
    const states: string[] = [];
    supervisor.on('status', (s: SupervisorStatus) => states.push(s.state));
    try {
      supervisor.start();
      await waitFor(() => supervisor.status().state === 'up', 5000, 'supervisor up');
      assert.ok(states.includes('connecting'));
      assert.deepEqual(
        supervisor.status().tunnels.map((t) => [t.slot, t.state, t.transport]),
        [
          [0, 'up', transport],
          [1, 'up', transport],
        ],
      );
      await waitFor(() => fx.relay.tunnels().length === 2, 2000, 'two tunnels at the relay');
      assert.deepEqual(
        fx.relay
          .tunnels()
          .map((t) => t.slot)
          .sort(),
        [0, 1],
      );

      const agents = await Promise.all([1, 2, 3, 4].map(() => agentConnect(fx.relay.port)));
      const replies = await Promise.all(agents.map((a, i) => roundTrip(a, `agent ${i}`)));
      assert.deepEqual(replies, ['agent 0', 'agent 1', 'agent 2', 'agent 3']);
      assert.deepEqual(
        new Set(echo.streams.map((s) => s.tunnelSlot)),
        new Set([0, 1]),
        'both tunnels carry streams',
      );
      for (const a of agents) a.destroy();
    } finally {
      await supervisor.stop({ drainTimeoutMs: 1000 });
      echo.close();
      await fx.close();
    }
    assert.equal(supervisor.status().state, 'stopped');
  });
}

test('relay killed and restarted on the same port: the supervisor reconnects within 5 s', async () => {
  const store = await openStore({ url: 'sqlite::memory:' });
  let fx = await startRelayFixture({}, store);
  const port = fx.relay.port;
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  const supervisor = new TunnelSupervisor({
    ...tunnelDialOptions(fx, credential, echo),
    tunnels: 2,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  try {
    supervisor.start();
    await waitFor(() => supervisor.status().state === 'up', 5000, 'up');
    await fx.close();
    await waitFor(
      () => supervisor.status().tunnels.every((t) => t.state !== 'up'),
      3000,
      'tunnels noticed the loss',
    );
    const lost = supervisor.status().tunnels[0]!.lastError;
    assert.equal(lost?.retryable, true);

    fx = await startRelayFixture({ port }, store);
    await waitFor(() => supervisor.status().state === 'up', 5000, 'reconnected within 5 s');
    await waitFor(() => fx.relay.tunnels().length === 2, 2000, 'registered again');
    assert.equal(await agentEcho(fx.relay.port, 'after restart'), 'after restart');
  } finally {
    await supervisor.stop({ drainTimeoutMs: 500 });
    echo.close();
    await fx.close();
    await store.close();
  }
});

test('a revoked connector: the slot stops with a permanent error instead of retrying', async () => {
  const { fx, credential, echo } = await startEnrolledRelay();
  let attempts = 0;
  const clock = trackingClock();
  const supervisor = new TunnelSupervisor({
    ...tunnelDialOptions(fx, credential, echo),
    tunnels: 1,
    backoff: fastBackoff,
    clock,
  });
  supervisor.on('status', (s: SupervisorStatus) => {
    if (s.tunnels[0]?.state === 'connecting') attempts++;
  });
  const failed: { slot: number; code: string }[] = [];
  supervisor.on('tunnel-failed', (e: { slot: number; code: string }) => failed.push(e));
  try {
    supervisor.start();
    await waitFor(() => supervisor.status().state === 'up', 5000, 'up');
    await fx.relay.revokeConnector(credential.connectorId);
    await waitFor(() => supervisor.status().state === 'failed', 3000, 'failed');
    const slot = supervisor.status().tunnels[0]!;
    assert.equal(slot.state, 'failed');
    assert.equal(slot.lastError?.code, TunnelCodes.CONNECTOR_REVOKED);
    assert.equal(slot.lastError?.retryable, false);
    assert.deepEqual(failed, [
      { slot: 0, code: TunnelCodes.CONNECTOR_REVOKED, message: slot.lastError?.message },
    ]);
    // Every retry waits on the supervisor's clock first (or starts at once, as a new 'connecting'
    // status): nothing is pending on the clock, so no further attempt is coming.
    assert.equal(clock.pending.size, 0, 'no retry planned after a permanent failure');
    assert.equal(supervisor.status().tunnels[0]?.state, 'failed');
    const seen = attempts;
    await supervisor.stop({ drainTimeoutMs: 500 });
    assert.equal(attempts, seen, 'no further attempts after a permanent failure');
  } finally {
    await supervisor.stop({ drainTimeoutMs: 500 });
    echo.close();
    await fx.close();
  }
});

test('stop() drains: no new agent streams, in-flight ones finish, then the tunnels close', async () => {
  const { fx, credential, echo } = await startEnrolledRelay();
  const supervisor = new TunnelSupervisor({
    ...tunnelDialOptions(fx, credential, echo),
    tunnels: 1,
    backoff: fastBackoff,
  });
  try {
    supervisor.start();
    await waitFor(() => supervisor.status().state === 'up', 5000, 'up');
    const agent = await agentConnect(fx.relay.port);
    assert.equal(await roundTrip(agent, 'before drain'), 'before drain');
    assert.equal(supervisor.status().tunnels[0]?.activeStreams, 1);

    let stopped = false;
    const stopping = supervisor.stop({ drainTimeoutMs: 5000 }).then(() => {
      stopped = true;
    });
    assert.equal(supervisor.status().state, 'draining');
    await waitFor(() => fx.relay.tunnels().length === 0, 2000, 'tunnel no longer routable');
    // New agents are refused (the only tunnel is draining)...
    const refused = await rawExchange(
      fx.relay.port,
      await captureClientHello({ servername: 'acme.localhost' }),
    );
    assert.deepEqual(refused, tlsAlert(112));
    // ...while the in-flight one keeps working.
    assert.equal(await roundTrip(agent, 'during drain'), 'during drain');
    assert.equal(stopped, false);
    agent.end();
    await stopping;
    assert.equal(supervisor.status().state, 'stopped');
  } finally {
    await supervisor.stop();
    echo.close();
    await fx.close();
  }
});

test('a stale (half-open) tunnel is replaced at once when the connector reconnects with the same slot', async () => {
  // The relay's own heartbeat is slow here, so only replacement can explain the quick recovery.
  const { fx, credential, echo } = await startEnrolledRelay({
    heartbeatIntervalMs: 60_000,
    heartbeatTimeoutMs: 60_000,
  });
  const forwarder = await startTcpForwarder(fx.connectTo);
  const downs = tunnelDowns(fx);
  const supervisor = new TunnelSupervisor({
    ...tunnelDialOptions(fx, credential, echo),
    connectTo: { host: '127.0.0.1', port: forwarder.port },
    tunnels: 1,
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 300,
    backoff: fastBackoff,
  });
  try {
    supervisor.start();
    await waitFor(() => fx.relay.tunnels().length === 1, 5000, 'tunnel up');
    const first = fx.relay.tunnels()[0]!;
    forwarder.freeze(); // neither side gets a FIN; the connector's heartbeat notices, the relay's would not
    await waitFor(() => forwarder.accepted === 2 && supervisor.status().state === 'up', 5000, 'reconnected');
    await waitFor(() => fx.relay.tunnels()[0]?.remoteAddress !== first.remoteAddress, 2000, 'replaced');
    const tunnels = fx.relay.tunnels();
    assert.equal(tunnels.length, 1, 'one entry per (connector, slot): the stale one is gone');
    assert.equal(tunnels[0]!.slot, 0);
    assert.equal(tunnels[0]!.connectorId, credential.connectorId);
    await waitFor(() => downs.length === 1, 2000, 'old tunnel reported down');
    assert.equal(downs[0]!.reason, TunnelCodes.REPLACED);
    assert.equal(await agentEcho(fx.relay.port, 'through the new tunnel'), 'through the new tunnel');
  } finally {
    await supervisor.stop({ drainTimeoutMs: 500 });
    echo.close();
    await forwarder.close();
    await fx.close();
  }
});

test('backoff runs on the injected clock and randomness', async () => {
  const { fx, credential, echo } = await startEnrolledRelay();
  await fx.close(); // nothing listens on the port any more
  const timers: { fn: () => void; ms: number }[] = [];
  const clock = {
    now: () => 0,
    setTimeout: (fn: () => void, ms: number) => {
      const timer = { fn, ms };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle: unknown) => {
      const i = timers.indexOf(handle as { fn: () => void; ms: number });
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const failed: { slot: number; code: string }[] = [];
  const supervisor = new TunnelSupervisor({
    ...tunnelDialOptions(fx, credential, echo),
    tunnels: 1,
    clock,
    backoff: { initialMs: 1000, maxMs: 8000, random: () => 0.5 },
  });
  supervisor.on('tunnel-failed', (e: { slot: number; code: string }) => failed.push(e));
  try {
    supervisor.start();
    await waitFor(() => supervisor.status().tunnels[0]?.state === 'backoff', 3000, 'first backoff');
    assert.equal(supervisor.status().tunnels[0]?.retryInMs, 500);
    assert.equal(supervisor.status().tunnels[0]?.lastError?.code, TunnelCodes.CONNECT_FAILED);
    assert.deepEqual(
      timers.map((t) => t.ms),
      [500],
    );
    timers.shift()!.fn(); // time passes only when the test says so
    await waitFor(() => timers.length === 1, 3000, 'second backoff');
    assert.equal(timers[0]!.ms, 1000);
    timers.shift()!.fn();
    await waitFor(() => timers.length === 1, 3000, 'third backoff');
    assert.equal(timers[0]!.ms, 2000);
    assert.equal(supervisor.status().tunnels[0]?.attempts, 3);
    assert.deepEqual(failed, [], 'connection refused is retryable, never reported as failed');
  } finally {
    await supervisor.stop({ drainTimeoutMs: 500 });
    echo.close();
  }
  assert.equal(timers.length, 0, 'stop cancels the pending retry');
});
