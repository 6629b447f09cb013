/**
 * Connectors bound to the customer: the first connector pins the tenant CA; a connector enrolled with
 * a token alone is UNBOUND and gets no tunnel (so no agent stream); a second connector with a binding
 * from the tenant CA (`airlock connector add`) works; a binding from another CA is refused; the tenant's
 * connectors are listed with their state, for bound connectors only.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { issueConnectorBinding } from '../../src/connector/enroll-client.js';
import { fetchTenantConnectors } from '../../src/connector/tenant-connectors-client.js';
import { createCertificateAuthority } from '../../src/identity/pki.js';
import { TunnelCodes } from '../../src/tunnel/protocol.js';
import { dialTunnel, type TunnelConnection } from '../../src/tunnel/tunnel-client.js';
import {
  agentEcho,
  enroll,
  type RelayFixture,
  startEchoEndpoint,
  startRelayFixture,
  waitFor,
} from './relay-fixture.js';

let fx: RelayFixture;
before(async () => {
  fx = await startRelayFixture();
});
after(() => fx.close());

type Credential = Awaited<ReturnType<typeof enroll>>;

function tunnelFor(credential: Credential, onStream: Parameters<typeof dialTunnel>[0]['onStream']) {
  return dialTunnel({
    relayUrl: fx.tlsUrl,
    connectTo: fx.connectTo,
    relayCaPem: fx.relay.caPem,
    credential,
    connectorId: credential.connectorId,
    slot: 0,
    proxy: false,
    onStream,
  });
}

test('an enrolled-but-unbound connector gets no tunnel and no stream; a bound second connector works', async () => {
  const first = await enroll(fx); // pins the tenant CA
  assert.equal(first.bound, true);
  const echo = await startEchoEndpoint();
  const tunnels: TunnelConnection[] = [await tunnelFor(first, echo.onStream)];
  try {
    // A token alone (the relay operator's, or a leaked one): enrolled, but unbound.
    const rogue = await enroll(fx, 'acme', { bound: false });
    assert.equal(rogue.bound, false);
    const rogueStreams: string[] = [];
    await assert.rejects(
      tunnelFor(rogue, (stream, meta) => {
        rogueStreams.push(meta.sni);
        stream.destroy();
      }),
      (err: { code?: string }) => err.code === TunnelCodes.CONNECTOR_UNBOUND,
    );
    for (let i = 0; i < 6; i++) assert.equal(await agentEcho(fx.relay.port, `call ${i}`), `call ${i}`);
    assert.deepEqual(rogueStreams, []);
    assert.ok(!fx.relay.tunnels().some((t) => t.connectorId === rogue.connectorId));

    // A second connector with a binding from the tenant CA (what `airlock connector add` makes).
    const second = await enroll(fx);
    assert.equal(second.bound, true);
    tunnels.push(await tunnelFor(second, echo.onStream));
    await waitFor(() => fx.relay.tunnels().length === 2, 3000, 'two bound tunnels');
    tunnels[0]?.destroy();
    await waitFor(() => fx.relay.tunnels().length === 1, 3000, 'first tunnel gone');
    assert.equal(await agentEcho(fx.relay.port, 'via the second'), 'via the second');

    const view = await fx.relay.connectors('acme');
    const stateOf = (id: string) => view.find((c) => c.id === id)?.state;
    assert.equal(stateOf(rogue.connectorId), 'unbound');
    assert.equal(stateOf(second.connectorId), 'online');
    assert.equal(stateOf(first.connectorId), 'offline');
    assert.ok((view.find((c) => c.id === first.connectorId)?.lastSeenAt ?? 0) > 0);

    // The same list over the relay API, for a bound connector; an unbound one is refused.
    const listed = await fetchTenantConnectors({
      relayUrl: fx.tlsUrl,
      connectTo: fx.connectTo,
      relayCaPem: fx.relay.caPem,
      credential: second,
      proxy: false,
    });
    assert.equal(listed.tenant, 'acme');
    assert.deepEqual(
      new Set(listed.connectors.map((c) => c.id)),
      new Set([first, rogue, second].map((c) => c.connectorId)),
    );
    await assert.rejects(
      fetchTenantConnectors({
        relayUrl: fx.tlsUrl,
        connectTo: fx.connectTo,
        relayCaPem: fx.relay.caPem,
        credential: rogue,
        proxy: false,
      }),
      (err: { code?: string }) => err.code === TunnelCodes.CONNECTOR_UNBOUND,
    );
  } finally {
    for (const t of tunnels) t.destroy();
    echo.close();
  }
});

test('a binding from another CA than the pinned one is refused at enrollment', async () => {
  await enroll(fx); // the pin exists (idempotent for the same CA)
  const otherCa = await createCertificateAuthority({ commonName: 'not the tenant' });
  const binding = await issueConnectorBinding(otherCa);
  const { enrollConnector } = await import('../../src/connector/enroll-client.js');
  await assert.rejects(
    enrollConnector({
      relayUrl: fx.tlsUrl,
      relayCaPem: fx.relay.caPem,
      token: await fx.relay.createEnrollmentToken('acme'),
      connectTo: fx.connectTo,
      proxy: false,
      binding,
    }),
    (err: { code?: string }) => err.code === 'AIRLOCK_ENROLL_BINDING_INVALID',
  );
});
