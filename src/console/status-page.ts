/** Server-rendered overview page of the connector (no script needed). */
import { html } from 'hono/html';
import type { ConnectorStatus } from './admin-app.js';

export function renderStatusPage(status: ConnectorStatus): ReturnType<typeof html> {
  const tunnels = status.tunnels.length
    ? status.tunnels.map(
        (t) =>
          html`<tr><td>${t.slot}</td><td>${t.transport}</td><td class="state-${t.state}">${t.state}</td><td>${t.lastError ?? ''}</td></tr>`,
      )
    : [
        html`<tr><td colspan="4" class="empty">No relay configured: agents reach this connector directly.</td></tr>`,
      ];
  const upstreams = status.upstreams.length
    ? status.upstreams.map(
        (u) =>
          html`<tr><td>${u.name}</td><td class="state-${u.state}">${u.state}</td><td>${u.restarts}</td><td>${u.lastError ?? ''}</td></tr>`,
      )
    : [html`<tr><td colspan="4" class="empty">No upstream MCP servers configured.</td></tr>`];
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Airlock connector · ${status.tenantHost}</title><link rel="stylesheet" href="/console.css"></head>
<body><header><h1>Airlock connector · ${status.tenantHost}</h1></header>
<main>
<h2>Tunnels to the relay</h2>
<table><thead><tr><th scope="col">Slot</th><th scope="col">Transport</th><th scope="col">State</th><th scope="col">Last error</th></tr></thead>
<tbody>${tunnels}</tbody></table>
<h2>Upstream MCP servers</h2>
<table><thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Restarts</th><th scope="col">Last error</th></tr></thead>
<tbody>${upstreams}</tbody></table>
</main></body></html>`;
}
