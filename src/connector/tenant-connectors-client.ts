/**
 * Asks the relay for every connector of this connector's tenant (`GET /v1/connectors`, authenticated
 * by the connector's client certificate; only a bound connector is answered): id, state (online /
 * offline / unbound / revoked), live tunnels, last seen. Used by `airlock connector list`.
 *
 * @example
 * const { connectors } = await fetchTenantConnectors({ relayUrl, relayCaPem, credential });
 */
import { fetch } from 'undici';
import { EnrollmentError } from '../errors/airlock-error.js';
import {
  CONNECTORS_PATH,
  EnrollCodes,
  errorBodySchema,
  type TenantConnectorView,
  tenantConnectorsResponseSchema,
} from '../tunnel/enrollment-protocol.js';
import { type RelayHttpsClientOptions, relayHttpsClient } from './relay-https-client.js';

/** Time for the whole request. */
export const DEFAULT_CONNECTOR_LIST_TIMEOUT_MS = 15_000;

export async function fetchTenantConnectors(
  options: RelayHttpsClientOptions,
): Promise<{ tenant: string; connectors: TenantConnectorView[] }> {
  const relay = relayHttpsClient(options);
  try {
    const res = await fetch(`${relay.baseUrl}${CONNECTORS_PATH}`, {
      dispatcher: relay.dispatcher,
      signal: AbortSignal.timeout(DEFAULT_CONNECTOR_LIST_TIMEOUT_MS),
    });
    const json: unknown = await res.json().catch(() => undefined);
    if (res.status !== 200) {
      const error = errorBodySchema.safeParse(json);
      if (error.success) throw new EnrollmentError(error.data.error.code, error.data.error.message);
      throw new EnrollmentError(EnrollCodes.BAD_RESPONSE, `relay answered HTTP ${res.status}`);
    }
    const parsed = tenantConnectorsResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new EnrollmentError(EnrollCodes.BAD_RESPONSE, 'relay sent a malformed connector list');
    return parsed.data;
  } finally {
    await relay.close();
  }
}
