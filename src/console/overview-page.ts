/**
 * The Overview page: tunnels to the relay, upstream MCP servers, connected agents and sessions,
 * tool calls per minute and refusals by reason (live counters of this process), pending approvals.
 */
import { html } from 'hono/html';
import type { ActivitySnapshot } from './activity-counters.js';
import type { ConnectorStatus } from './connector-status.js';
import { empty, type Html, pill, relative, time } from './console-layout.js';

/** A live agent session, as the MCP endpoint reports it (`AgentMcpEndpoint.sessions()`). */
export interface ConsoleAgentSession {
  id: string;
  identity: string;
  createdAt: number;
  lastSeenAt: number;
  open: number;
}

export interface OverviewData {
  status: ConnectorStatus;
  sessions: readonly ConsoleAgentSession[] | undefined;
  activity: ActivitySnapshot | undefined;
  pendingApprovals: number | undefined;
  now: number;
}

export function renderOverviewBody(d: OverviewData): Html {
  const s = d.status;
  const cards = renderCards(d);
  const tunnels = s.tunnels.length
    ? s.tunnels.map(
        (t) =>
          html`<tr><td>${t.slot}</td><td>${t.transport}</td><td>${stateCell(t.state)}</td><td>${t.since ? html`${time(t.since)}` : ''}</td><td>${t.lastError ?? ''}</td></tr>`,
      )
    : [
        html`<tr><td colspan="5" class="empty">No relay configured: agents reach this connector directly.</td></tr>`,
      ];
  const upstreams = s.upstreams.length
    ? s.upstreams.map(
        (u) =>
          html`<tr><td><code>${u.name}</code></td><td>${stateCell(u.state)}</td><td>${sandboxCell(u)}</td><td class="num">${u.restarts}</td><td>${u.lastError ?? ''}</td></tr>`,
      )
    : [html`<tr><td colspan="5" class="empty">No upstream MCP servers configured.</td></tr>`];
  const unsandboxed = s.upstreams.filter((u) => u.sandboxed === false);
  const sandboxWarning = unsandboxed.length
    ? html`<p class="notice error" role="alert" data-sandbox-warning><strong>Not sandboxed:</strong> ${unsandboxed.map((u) => u.name).join(', ')} ${unsandboxed.length === 1 ? 'runs' : 'run'} as the connector's own user and could read its keys (tenant CA, vault, audit). Install bubblewrap, or set <code>sandbox.mode: required</code> so such a server is refused instead.</p>`
    : '';

  const sessions = renderSessions(d);
  const { perMinute, refusalTable } = renderActivity(d);
  return html`<h1>Overview</h1>
${sandboxWarning}
${cards}
<div class="split"><section aria-labelledby="h-tunnels"><h2 id="h-tunnels">Tunnels to the relay</h2>
<table><thead><tr><th scope="col">Slot</th><th scope="col">Transport</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Last error</th></tr></thead><tbody>${tunnels}</tbody></table></section>
<section aria-labelledby="h-upstreams"><h2 id="h-upstreams">Upstream MCP servers</h2>
<table><thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Sandbox</th><th scope="col" class="num">Restarts</th><th scope="col">Last error</th></tr></thead><tbody>${upstreams}</tbody></table></section></div>
<section aria-labelledby="h-sessions"><h2 id="h-sessions">Connected agents</h2>${sessions}</section>
<div class="split"><section aria-labelledby="h-calls"><h2 id="h-calls">Tool calls per minute</h2>${perMinute}</section>
<section aria-labelledby="h-refusals"><h2 id="h-refusals">Refusals by reason (last hour)</h2>${refusalTable}</section></div>`;
}

/** The summary cards at the top. */
function renderCards(d: OverviewData): Html {
  const s = d.status;
  const up = s.tunnels.filter((t) => t.state === 'up').length;
  const sessionCount = d.sessions?.length ?? (typeof s.sessions === 'number' ? s.sessions : undefined);
  const agents = d.sessions ? new Set(d.sessions.map((x) => x.identity)).size : undefined;
  const refusals = d.activity?.refusalsByCode.reduce((n, r) => n + r.count, 0);
  const tunnelSummary = s.tunnels.length === 0 ? 'direct only' : `${up} of ${s.tunnels.length} up`;
  return html`<div class="cards">
<div class="card"><div class="label">Relay tunnels</div><div class="value">${tunnelSummary}</div>${
    s.tunnels.length > 0
      ? up > 0
        ? pill('ok', 'reachable through the relay')
        : pill('bad', 'not reachable through the relay')
      : pill('neutral', 'no relay configured')
  }</div>
<div class="card"><div class="label">Agent sessions</div><div class="value">${sessionCount ?? '–'}</div>${
    agents !== undefined
      ? html`<span class="muted">${agents} agent${agents === 1 ? '' : 's'} connected</span>`
      : ''
  }</div>
<div class="card"><div class="label">Tool calls, last minute</div><div class="value">${d.activity ? d.activity.callsLastMinute : '–'}</div><span class="muted">${d.activity ? html`since ${time(d.activity.since)}` : 'not counted'}</span></div>
<div class="card"><div class="label">Refusals, last hour</div><div class="value">${refusals ?? '–'}</div></div>
<div class="card"><div class="label">Pending approvals</div><div class="value"><a href="/approvals"><span data-pending-count data-count="${d.pendingApprovals ?? 0}">${d.pendingApprovals ?? '–'}</span></a></div></div>
</div>`;
}

/** Connected agents (sessions grouped by identity). */
function renderSessions(d: OverviewData): Html {
  const byAgent = new Map<string, { sessions: number; open: number; lastSeen: number }>();
  for (const x of d.sessions ?? []) {
    const a = byAgent.get(x.identity) ?? { sessions: 0, open: 0, lastSeen: 0 };
    a.sessions++;
    a.open += x.open;
    a.lastSeen = Math.max(a.lastSeen, x.lastSeenAt);
    byAgent.set(x.identity, a);
  }
  return d.sessions
    ? byAgent.size
      ? html`<table><thead><tr><th scope="col">Agent</th><th scope="col" class="num">Sessions</th><th scope="col" class="num">Open requests</th><th scope="col">Last seen</th></tr></thead><tbody>${[
          ...byAgent,
        ].map(
          ([name, a]) =>
            html`<tr><td>${name}</td><td class="num">${a.sessions}</td><td class="num">${a.open}</td><td>${relative(a.lastSeen, d.now)}</td></tr>`,
        )}</tbody></table>`
      : empty('No agent sessions right now. (Agents on the stateless 2026-07-28 protocol hold no session.)')
    : empty('Session details are not available.');
}

/** Tool calls per minute and refusals by reason code. */
function renderActivity(d: OverviewData): { perMinute: Html; refusalTable: Html } {
  const maxCalls = Math.max(1, ...(d.activity?.minutes.map((m) => m.calls) ?? [0]));
  const perMinute = d.activity
    ? html`<table aria-label="Tool calls per minute"><thead><tr><th scope="col">Minute (UTC)</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Refusals</th><th scope="col"><span class="sr-only">Chart</span></th></tr></thead><tbody>${[
        ...d.activity.minutes,
      ]
        .reverse()
        .map(
          (m) =>
            html`<tr><td>${new Date(m.minute).toISOString().slice(11, 16)}</td><td class="num">${m.calls}</td><td class="num">${m.refusals}</td><td aria-hidden="true"><span class="bar bar-${Math.round((m.calls / maxCalls) * 10)}"></span></td></tr>`,
        )}</tbody></table>`
    : empty('Activity is not counted in this process.');
  const refusalTable = d.activity
    ? d.activity.refusalsByCode.length
      ? html`<table><thead><tr><th scope="col">Reason code</th><th scope="col" class="num">Refusals</th></tr></thead><tbody>${d.activity.refusalsByCode.map(
          (r) => html`<tr><td><code>${r.code}</code></td><td class="num">${r.count}</td></tr>`,
        )}</tbody></table>`
      : empty('No refusals in the last hour.')
    : empty('Refusals are not counted in this process.');
  return { perMinute, refusalTable };
}

/** Sandbox state of one upstream: sandboxed, or unsandboxed with the reason. */
function sandboxCell(u: ConnectorStatus['upstreams'][number]): Html | string {
  if (u.kind === 'http') return html`<span class="muted">n/a (HTTP)</span>`;
  if (u.sandboxed === true) return pill('ok', 'sandboxed');
  if (u.sandboxed === false) {
    return html`${pill('bad', 'unsandboxed')} <span class="muted">${u.unsandboxedReason ?? 'sandbox.mode is "preferred" or "off"'}</span>`;
  }
  return html`<span class="muted">not started</span>`;
}

function stateCell(state: string): Html {
  if (state === 'up' || state === 'ready' || state === 'running') return pill('ok', state);
  if (state === 'down' || state === 'failed' || state === 'closed') return pill('bad', state);
  return pill('warn', state);
}
