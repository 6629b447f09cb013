/**
 * The connector half of `airlock doctor`: config, enrollment credential, the relay (DNS, TCP, TLS with the
 * pinned relay CA and the connector's own certificate), the clock, then the running connector's tunnels
 * and upstreams from its `/readyz`.
 *
 * @example
 * const steps = await diagnoseConnector('/etc/airlock/connector.yaml', { onStep: console.log });
 */
import { readFile } from 'node:fs/promises';
import { networkSteps, stepRecorder } from '../agent/doctor-run.js';
import {
  certificateStep,
  DEFAULT_DOCTOR_STEP_TIMEOUT_MS,
  type DoctorStep,
  type TlsTarget,
} from '../agent/doctor-steps.js';
import type { ConnectorContext } from '../connector/connector-context.js';
import type { ReadinessReport } from '../connector/health/connector-readiness.js';
import { AirlockError } from '../errors/airlock-error.js';
import { adminBaseUrl, fetchReadiness } from './status-command.js';

export interface DiagnoseConnectorOptions {
  admin?: string;
  stepTimeoutMs?: number;
  onStep?: (step: DoctorStep) => void;
}

const RELAY_CA_HINT =
  'relay.caFile must be the relay CA ("<relay dataDir>/identity/ca.pem", printed by "airlock relay")';

async function relayCaStep(ctx: ConnectorContext): Promise<DoctorStep | undefined> {
  const caFile = ctx.config.relay?.caFile;
  if (!caFile || !ctx.credential?.relayCaPem) return undefined;
  const configured = await readFile(ctx.resolvePath(caFile), 'utf8').catch(() => undefined);
  if (configured === undefined) {
    return {
      name: 'relay CA',
      status: 'fail',
      detail: `cannot read relay.caFile ${caFile}`,
      code: 'AIRLOCK_DOCTOR_FILE_UNREADABLE',
      hint: 'fix the path or the file permissions',
    };
  }
  if (configured.trim() !== ctx.credential.relayCaPem.trim()) {
    return {
      name: 'relay CA',
      status: 'warn',
      detail: `relay.caFile differs from the relay CA saved at enrollment (${ctx.dataDir}/relay-ca.pem), which the connector uses`,
      hint: 'copy the new CA over relay-ca.pem in dataDir, or re-enroll',
    };
  }
  return { name: 'relay CA', status: 'ok', detail: 'relay.caFile matches the CA saved at enrollment' };
}

function tunnelStep(report: ReadinessReport): DoctorStep {
  const t = report.tunnels;
  if (!t.configured)
    return { name: 'tunnels', status: 'ok', detail: 'no relay configured (direct listener only)' };
  const errors = [...new Set(t.slots.map((s) => s.lastError).filter(Boolean))].join('; ');
  if (t.up === 0) {
    return {
      name: 'tunnels',
      status: 'fail',
      detail: `0/${t.total} up${errors ? `: ${errors}` : ''}`,
      code: 'AIRLOCK_DOCTOR_NO_TUNNEL',
      hint: 'agents get "unknown tenant or no connector online" until one is up: check the relay steps above and the connector log',
    };
  }
  if (t.up < t.total)
    return {
      name: 'tunnels',
      status: 'warn',
      detail: `${t.up}/${t.total} up${errors ? `: ${errors}` : ''}`,
      hint: 'the connector keeps retrying the others',
    };
  return { name: 'tunnels', status: 'ok', detail: `${t.up}/${t.total} up` };
}

function upstreamSteps(report: ReadinessReport): DoctorStep[] {
  return report.upstreams.map((u): DoctorStep => {
    const name = `upstream ${u.name}`;
    const how = u.kind === 'http' ? 'http' : u.sandboxed === false ? 'NOT sandboxed' : 'sandboxed';
    if (u.state === 'ready') {
      return u.kind === 'stdio' && u.sandboxed === false
        ? {
            name,
            status: 'warn',
            detail: `ready, ${how}`,
            hint: 'install bubblewrap or set sandbox.mode: required to refuse running it unsandboxed',
          }
        : { name, status: 'ok', detail: `ready (${how}${u.restarts ? `, ${u.restarts} restarts` : ''})` };
    }
    return {
      name,
      status: u.required ? 'fail' : 'warn',
      detail: `${u.state}${u.lastError ? `: ${u.lastError}` : ''}`,
      code: 'AIRLOCK_DOCTOR_UPSTREAM_DOWN',
      hint:
        u.kind === 'http'
          ? 'check its URL from the connector host'
          : 'run its command by hand as the connector user to see why it exits',
    };
  });
}

async function relaySteps(ctx: ConnectorContext, timeoutMs: number, add: AddStep): Promise<void> {
  const relay = ctx.config.relay;
  const cred = ctx.credential;
  if (!relay || !cred) return;
  const url = new URL(relay.url.replace(/^(tls|wss):/, 'https:'));
  const [host, port] = relay.connect
    ? [relay.connect.replace(/:\d+$/, ''), Number(relay.connect.replace(/^.*:/, ''))]
    : [url.hostname, url.port === '' ? 443 : Number(url.port)];
  const caPem =
    cred.relayCaPem ??
    (relay.caFile ? await readFile(ctx.resolvePath(relay.caFile), 'utf8').catch(() => '') : '');
  if (!caPem) {
    add({
      name: 'relay tls',
      status: 'skip',
      detail: 'the relay has a publicly trusted certificate (no CA pinned): not checked here',
    });
    return;
  }
  const t: TlsTarget = {
    host,
    port,
    servername: url.hostname,
    caPem,
    certPem: cred.certPem,
    keyPem: cred.keyPem,
  };
  for (const run of networkSteps(t, timeoutMs)) {
    const step = await run();
    add({
      ...step,
      name: `relay ${step.name}`,
      ...(step.code === 'AIRLOCK_AGENT_CA_MISMATCH' ? { hint: RELAY_CA_HINT } : {}),
    });
    if (step.status === 'fail') return;
  }
}

/** Runs every connector check; never throws for a failed check. */
export async function diagnoseConnector(
  configFile: string,
  opts: DiagnoseConnectorOptions = {},
): Promise<DoctorStep[]> {
  const timeoutMs = opts.stepTimeoutMs ?? DEFAULT_DOCTOR_STEP_TIMEOUT_MS;
  const { steps, add } = stepRecorder(opts.onStep);
  const ctx = await configStep(configFile, add);
  if (!ctx) return steps;
  await enrollmentSteps(ctx, add);
  await relaySteps(ctx, timeoutMs, add);
  await processSteps(adminBaseUrl(opts.admin ?? ctx.config.admin.listen), timeoutMs, add);
  return steps;
}

type AddStep = (step: DoctorStep) => DoctorStep;

/** The config file loads (or the step that says why not). */
async function configStep(configFile: string, add: AddStep): Promise<ConnectorContext | undefined> {
  const { loadConnectorContext } = await import('../connector/connector-context.js');
  let ctx: ConnectorContext;
  try {
    ctx = await loadConnectorContext(configFile);
  } catch (err) {
    const code = err instanceof AirlockError ? err.code : 'AIRLOCK_DOCTOR_CONFIG';
    add({
      name: 'config',
      status: 'fail',
      detail: (err as Error).message.replace(/\n/g, ' '),
      code,
      hint: 'fix the file; the message names the line',
    });
    return undefined;
  }
  add({
    name: 'config',
    status: 'ok',
    detail: `${ctx.configFile} loads (${Object.keys(ctx.config.upstreams).length} upstreams)`,
  });
  return ctx;
}

/** The enrollment credential, its certificate and the pinned relay CA. */
async function enrollmentSteps(ctx: ConnectorContext, add: AddStep): Promise<void> {
  if (ctx.config.relay && !ctx.credential) {
    add({
      name: 'enrollment',
      status: 'fail',
      detail: 'not enrolled',
      code: 'AIRLOCK_CONNECTOR_NOT_ENROLLED',
      hint: `run "airlock connector enroll --config ${ctx.configFile} --token <token>"`,
    });
    return;
  }
  if (!ctx.credential) return;
  add({
    name: 'enrollment',
    status: 'ok',
    detail: `connector ${ctx.credential.connectorId} of tenant ${ctx.credential.tenant} (${ctx.credential.tenantHost})`,
  });
  add(
    certificateStep('connector certificate', ctx.credential.certPem, { whose: 'the connector credential' }),
  );
  const ca = await relayCaStep(ctx);
  if (ca) add(ca);
}

/** The running connector's `/readyz`: the process, its tunnels, upstreams and audit trail. */
async function processSteps(base: string, timeoutMs: number, add: AddStep): Promise<void> {
  let report: ReadinessReport;
  try {
    report = await fetchReadiness(base, timeoutMs);
  } catch (err) {
    const hint = (err as { hint?: string }).hint;
    add({
      name: 'connector process',
      status: 'fail',
      detail: (err as Error).message,
      code: 'AIRLOCK_CLI_CONNECTOR_UNREACHABLE',
      ...(hint ? { hint } : {}),
    });
    return;
  }
  add({
    name: 'connector process',
    status: 'ok',
    detail: `running at ${base}${report.ready ? ', ready' : `, not ready: ${report.reasons.join('; ')}`}`,
  });
  add(tunnelStep(report));
  for (const step of upstreamSteps(report)) add(step);
  if (report.audit && !report.audit.available) {
    add({
      name: 'audit',
      status: 'fail',
      detail: 'the audit trail cannot be written: every call is refused',
      code: 'AIRLOCK_AUDIT_UNAVAILABLE',
      hint: 'check the store (disk space, database) and the connector log',
    });
  }
}
