/**
 * Questions 1 and 5 (where data traverses, what isolates us): the relay this connector dials, its
 * enrollment, the listeners, the upstreams and the hops data takes, from the config and the
 * credential on disk; and, per upstream, the sandbox state — decided by the same
 * `prepareSandboxedCommand` the connector runs before it starts a stdio upstream (so the answer is
 * the one this host gives now), plus the running connector's own view when the report is made
 * inside it.
 *
 * @example
 * const path = collectDataPath(ctx, reproduceCommands.dataPath);
 * const sandbox = await collectSandboxEvidence(ctx, live, reproduceCommands.sandbox);
 */

import type { DataPathEvidence, SandboxEvidence, UpstreamPathEvidence } from '../../report/report-model.js';
import { shellWord } from '../../report/reproduce-commands.js';
import { sandboxFromYaml } from '../../sandbox/sandbox-config.js';
import { prepareSandboxedCommand } from '../../sandbox/sandboxed-command.js';
import type { ConnectorContext } from '../connector-context.js';

/** The running connector's view of its upstreams (`connector.catalog.status()`), when available. */
export type LiveUpstreams = () => ReadonlyArray<{ name: string; state: string; sandboxed?: boolean }>;

/** Upstreams as the config names them: command line or URL, never headers or environment values. */
export function upstreamTargets(ctx: ConnectorContext): UpstreamPathEvidence[] {
  return Object.entries(ctx.config.upstreams).map(([name, u]) =>
    u.url !== undefined
      ? { name, kind: 'http' as const, target: u.url }
      : {
          name,
          kind: 'stdio' as const,
          target: [u.command ?? '', ...(u.args ?? [])].map(shellWord).join(' '),
        },
  );
}

/** The relay, listeners, upstreams and hops. */
export function collectDataPath(ctx: ConnectorContext, tenant: string, reproduce: string): DataPathEvidence {
  const relay = ctx.config.relay;
  const cred = ctx.credential;
  const host = ctx.tenantHost ?? '(not enrolled)';
  const upstreams = upstreamTargets(ctx);
  const hops: DataPathEvidence['hops'] = [];
  if (relay) {
    hops.push(
      { from: 'agent', to: `relay ${relay.url}`, carries: `TLS to ${host} (SNI only visible; ciphertext)` },
      {
        from: 'relay',
        to: 'connector tunnel',
        carries: `the agent's TLS bytes, unchanged, inside a ${relay.url.startsWith('wss:') ? 'WebSocket' : 'TLS'} tunnel the connector dialed out`,
      },
    );
  }
  if (ctx.config.agents.listen) {
    hops.push({
      from: 'agent (internal)',
      to: `connector ${ctx.config.agents.listen}`,
      carries: `TLS to ${host}`,
    });
  }
  hops.push({
    from: 'connector',
    to: 'gateway',
    carries: "plaintext MCP, only here: the agent's TLS ends with the tenant key",
  });
  for (const u of upstreams) {
    hops.push({
      from: 'gateway',
      to: `upstream ${u.name}`,
      carries:
        u.kind === 'http'
          ? `HTTP(S) to ${u.target} (private network)`
          : 'stdio pipe to a local child process',
    });
  }
  return {
    tenant,
    tenantHost: ctx.tenantHost ?? null,
    relay: relay
      ? {
          url: relay.url,
          connect: relay.connect ?? null,
          transport: relay.url.startsWith('wss:') ? 'websocket' : 'tls',
          tunnels: relay.tunnels,
          connectorId: cred?.connectorId ?? null,
          enrolledAt: cred?.enrolledAt ?? null,
        }
      : null,
    agentsListen: ctx.config.agents.listen ?? null,
    adminListen: ctx.config.admin.listen,
    upstreams,
    hops,
    reproduce,
  };
}

/** Per upstream: configured mode, whether this host would sandbox it now, and the live state. */
export async function collectSandboxEvidence(
  ctx: ConnectorContext,
  live: LiveUpstreams | undefined,
  reproduce: string,
): Promise<SandboxEvidence> {
  const running = new Map((live?.() ?? []).map((u) => [u.name, u]));
  const upstreams: SandboxEvidence['upstreams'] = [];
  for (const [name, u] of Object.entries(ctx.config.upstreams)) {
    const l = running.get(name);
    const liveView = l
      ? { state: l.state, ...(l.sandboxed !== undefined ? { sandboxed: l.sandboxed } : {}) }
      : null;
    if (u.url !== undefined) {
      upstreams.push({
        name,
        kind: 'http',
        mode: null,
        network: null,
        sandboxed: null,
        reason: 'HTTP upstream: a separate service',
        live: liveView,
      });
      continue;
    }
    const sandbox = sandboxFromYaml(u.sandbox, {
      resolvePath: ctx.resolvePath,
      hiddenPaths: [ctx.dataDir, ctx.configFile],
    });
    let sandboxed: boolean | null = null;
    let reason: string | null = null;
    try {
      const spec = await prepareSandboxedCommand({
        name,
        command: u.command ?? '',
        args: u.args ?? [],
        env: u.env ?? {},
        sandbox,
      });
      sandboxed = spec.sandboxed;
      reason = spec.unsandboxedReason ?? null;
    } catch (err) {
      sandboxed = false;
      reason = `the connector refuses to start it: ${err instanceof Error ? err.message : String(err)}`;
    }
    upstreams.push({
      name,
      kind: 'stdio',
      mode: sandbox.mode ?? null,
      network: sandbox.network ?? false,
      sandboxed,
      reason,
      live: liveView,
    });
  }
  return { upstreams, reproduce };
}
