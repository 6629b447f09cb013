/**
 * The connector's tunnels to the relay: the supervisor that keeps `relay.tunnels` of them up, and
 * where each agent stream goes (the agent endpoint, or the ACME TLS-ALPN-01 answer).
 *
 * @example
 * const supervisor = startConnectorTunnels({ ctx, tenantHost, endpoint, acme, logger }, opened);
 * await whenTunnelUp(supervisor, 15_000);
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AirlockError } from '../errors/airlock-error.js';
import { listenAddress } from '../net/listen-address.js';
import type { TunnelStreamMeta } from '../tunnel/tunnel-client.js';
import { divertAcmeValidation } from './acme/acme-validation-divert.js';
import type { ConnectorAcme } from './acme/connector-acme.js';
import type { AgentEndpoint } from './agent-endpoint.js';
import type { CloseStack } from './close-stack.js';
import type { ConnectorContext } from './connector-context.js';
import { TunnelSupervisor } from './tunnel-supervisor.js';

export interface ConnectorTunnelParts {
  ctx: ConnectorContext;
  /** HTTP CONNECT proxy for the tunnels (default from the environment). */
  proxy?: string | undefined;
  tenantHost: string;
  endpoint: AgentEndpoint;
  acme: ConnectorAcme | undefined;
  logger: Logger;
}

/**
 * Where one agent stream goes: refused when its SNI is another host; a TLS-ALPN-01 validation of
 * the ACME CA is answered here; everything else goes on to the agent endpoint.
 */
function routeAgentStream(p: ConnectorTunnelParts): (stream: Duplex, meta: TunnelStreamMeta) => void {
  const { endpoint, acme, logger } = p;
  return (stream, meta) => {
    if (meta.sni.toLowerCase() !== p.tenantHost) {
      logger.warn({ sni: meta.sni }, 'stream for another hostname refused');
      stream.destroy();
      return;
    }
    if (!acme || acme.dns01) endpoint.accept(stream, meta.tunnel);
    else
      void divertAcmeValidation(stream, acme.certificate.challenges).then(
        (t) => t || endpoint.accept(stream, meta.tunnel),
      );
  };
}

/**
 * Starts the tunnels when `relay` is configured (stopping them is deferred on `opened`); undefined
 * without a relay. Throws `AIRLOCK_CONNECTOR_NOT_ENROLLED` when there is a relay but no credential.
 */
export function startConnectorTunnels(
  p: ConnectorTunnelParts,
  opened: CloseStack,
): TunnelSupervisor | undefined {
  const { ctx, logger } = p;
  const relay = ctx.config.relay;
  if (!relay) return undefined;
  const cred = ctx.credential;
  if (!cred) {
    throw new AirlockError(
      'AIRLOCK_CONNECTOR_NOT_ENROLLED',
      `this connector has not enrolled yet: run "airlock connector enroll --config ${ctx.configFile} --token <token>"`,
    );
  }
  const supervisor = new TunnelSupervisor({
    relayUrl: relay.url,
    ...(relay.connect ? { connectTo: listenAddress(relay.connect) } : {}),
    ...(cred.relayCaPem ? { relayCaPem: cred.relayCaPem } : {}),
    credential: { keyPem: cred.keyPem, certPem: cred.certPem },
    connectorId: cred.connectorId,
    tunnels: relay.tunnels,
    transport: relay.url.startsWith('wss:') ? 'websocket' : 'tls',
    ...(p.proxy ? { proxy: p.proxy } : {}),
    logger: logger.child({ part: 'tunnel' }),
    onStream: routeAgentStream(p),
  });
  opened.defer(() => supervisor.stop());
  supervisor.start();
  return supervisor;
}

/**
 * Resolves once at least one tunnel is up (at once without a supervisor); rejects with the retryable
 * `AIRLOCK_TUNNEL_TIMEOUT`, naming the last tunnel error, after `timeoutMs`.
 */
export function whenTunnelUp(supervisor: TunnelSupervisor | undefined, timeoutMs: number): Promise<void> {
  if (!supervisor || supervisor.status().tunnels.some((t) => t.state === 'up')) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.off('status', onStatus);
      const last = supervisor.status().tunnels.find((t) => t.lastError)?.lastError;
      reject(
        new AirlockError(
          'AIRLOCK_TUNNEL_TIMEOUT',
          `no tunnel to the relay came up within ${timeoutMs} ms${last ? `: ${last.message}` : ''}`,
          { retryable: true },
        ),
      );
    }, timeoutMs);
    const onStatus = (s: { tunnels: Array<{ state: string }> }) => {
      if (s.tunnels.some((t) => t.state === 'up')) {
        clearTimeout(timer);
        supervisor.off('status', onStatus);
        resolve();
      }
    };
    supervisor.on('status', onStatus);
  });
}
