/**
 * `diagnoseTenant`: checks, step by step, everything between an agent and its tenant — the name resolves,
 * the relay accepts the connection, the TLS handshake succeeds against the pinned tenant CA (the relay's
 * `unrecognized_name` alert means an unknown tenant or no connector online), the client certificate is
 * valid and issued by that CA for this tenant, the clocks agree, and the connector accepts the identity
 * over MCP. Steps after a failed network step are skipped.
 *
 * @example
 * for (const step of await diagnoseTenant(conn)) console.log(step.status, step.name, step.detail);
 */

import { NETWORK_STEP_NAMES, networkSteps, stepRecorder } from './doctor-run.js';
import {
  certificateStep,
  DEFAULT_DOCTOR_STEP_TIMEOUT_MS,
  type DoctorStep,
  failedStep,
  type TlsTarget,
} from './doctor-steps.js';
import type { TenantConnection } from './tenant-connection.js';
import { connectToTenant } from './tenant-transport.js';

export interface DiagnoseTenantOptions {
  /** Per network step. Default {@link DEFAULT_DOCTOR_STEP_TIMEOUT_MS}. */
  stepTimeoutMs?: number;
  /** Called as each step completes (for live output). */
  onStep?: (step: DoctorStep) => void;
}

function target(conn: TenantConnection): TlsTarget {
  const url = new URL(conn.url);
  const servername = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  return {
    host: conn.connectTo?.host ?? servername,
    port: conn.connectTo?.port ?? port,
    servername,
    caPem: conn.caPem,
    minVersion: 'TLSv1.3',
    ...(conn.certPem && conn.keyPem ? { certPem: conn.certPem, keyPem: conn.keyPem } : {}),
  };
}

async function mcpStep(conn: TenantConnection, timeoutMs: number): Promise<DoctorStep> {
  try {
    const client = await connectToTenant(
      conn,
      { name: 'airlock-doctor', version: '1' },
      { connect: { timeout: timeoutMs } },
    );
    try {
      const { tools } = await client.listTools(undefined, { timeout: timeoutMs });
      return {
        name: 'mcp',
        status: 'ok',
        detail: `the connector accepts this identity (${client.getProtocolEra()} era, ${tools.length} tools visible)`,
      };
    } finally {
      await client.close().catch(() => undefined);
    }
  } catch (err) {
    return failedStep('mcp', err, conn);
  }
}

/** Runs every step; see the module comment. Never throws for a failed check. */
export async function diagnoseTenant(
  conn: TenantConnection,
  opts: DiagnoseTenantOptions = {},
): Promise<DoctorStep[]> {
  const timeoutMs = opts.stepTimeoutMs ?? DEFAULT_DOCTOR_STEP_TIMEOUT_MS;
  const { steps, add } = stepRecorder(opts.onStep);
  const t = target(conn);
  if (conn.certPem) {
    // Agent identities are spiffe://<tenant host>/agent/<name>.
    const escaped = t.servername.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    add(
      certificateStep('client certificate', conn.certPem, {
        caPem: conn.caPem,
        expectUri: new RegExp(`^spiffe://${escaped}/`, 'i'),
        whose: 'the agent certificate',
      }),
    );
  } else {
    add({
      name: 'client certificate',
      status: 'warn',
      detail: 'none given',
      hint: 'connectors accept only agents with an identity: pass --cert and --key (or use an OAuth token)',
    });
  }
  const network = [...networkSteps(t, timeoutMs), () => mcpStep(conn, timeoutMs * 2)];
  const names = [...NETWORK_STEP_NAMES, 'mcp'];
  for (const [i, run] of network.entries()) {
    const step = add(await run());
    if (step.status === 'fail' && step.name !== 'clock') {
      for (const name of names.slice(i + 1))
        add({ name, status: 'skip', detail: `skipped: ${step.name} failed` });
      break;
    }
  }
  return steps;
}
