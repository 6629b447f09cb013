/**
 * The sections of the report page, one function each, in reading order. Every table shows the
 * command that reproduces it.
 */
import { html } from 'hono/html';
import { renderFlowDiagram } from './flow-diagram.js';
import type { ReportDocument } from './report-model.js';
import { cmd, type Html, pill, short, when } from './report-view.js';

export function pathSection(r: ReportDocument): Html {
  const p = r.dataPath;
  const relay = p.relay;
  return html`<section id="path" aria-labelledby="h-path"><h2 id="h-path">1. Where data traverses</h2>
<table><tbody>
<tr><th>Tenant</th><td>${p.tenant} (<code>${p.tenantHost ?? 'not enrolled'}</code>)</td></tr>
<tr><th>Relay</th><td>${relay ? html`<code>${relay.url}</code>${relay.connect ? html` dialed at <code>${relay.connect}</code>` : ''} · ${relay.transport} tunnel × ${relay.tunnels} · connector <code>${relay.connectorId ?? '—'}</code> enrolled ${when(relay.enrolledAt)}` : 'none (direct agent listener only)'}</td></tr>
<tr><th>Agent listener</th><td>${p.agentsListen ?? 'none (agents come through the relay)'}</td></tr>
<tr><th>Console / admin</th><td><code>${p.adminListen}</code> (never reachable through the tunnel)</td></tr>
</tbody></table>
<h3>Hops</h3><table><thead><tr><th>From</th><th>To</th><th>What crosses</th></tr></thead><tbody>${p.hops.map(
    (h) => html`<tr><td>${h.from}</td><td>${h.to}</td><td>${h.carries}</td></tr>`,
  )}</tbody></table>${cmd(p.reproduce)}
<h3>TLS in force (measured by handshake)</h3><table><thead><tr><th>Endpoint</th><th>Target / SNI</th><th>TLS 1.2 offered</th><th>TLS 1.3 offered</th></tr></thead><tbody>${r.tls.endpoints.map(
    (e) =>
      html`<tr><td>${e.name}</td><td><code>${e.target}</code> / <code>${e.servername}</code></td>${e.probes.map(
        (pr) =>
          html`<td>${pill(pr.accepted, 'accepted', 'refused')} ${pr.protocol ?? ''} <code>${pr.cipher ?? pr.error ?? ''}</code></td>`,
      )}</tr>`,
  )}</tbody></table>
<p class="muted">Defaults of this Node.js (the connector sets no cipher list): ${r.tls.defaults.minVersion}–${r.tls.defaults.maxVersion}; suites <code>${r.tls.defaults.cipherSuites.join(' ')}</code>.${r.tls.notes.map((n) => html` ${n}.`)}</p>
${r.tls.endpoints.map((e) => cmd(e.reproduce))}
<h3>Data flow in the period</h3>${renderFlowDiagram(r.activity.flows)}${cmd(r.activity.reproduce)}</section>`;
}

export function keysSection(r: ReportDocument): Html {
  return html`<section id="keys" aria-labelledby="h-keys"><h2 id="h-keys">2. Who can decrypt: keys and where they were generated</h2>
<table><thead><tr><th>Key</th><th>Held by</th><th>File (mode, created)</th><th>Algorithm</th><th>Fingerprint</th><th>Reproduce</th></tr></thead><tbody>${r.keys.map(
    (
      k,
    ) => html`<tr><td><strong>${k.label}</strong><br><span class="muted">${k.purpose}</span>${k.certificate ? html`<br><span class="muted">cert ${k.certificate.subject}, valid ${when(k.certificate.notBefore)} → ${when(k.certificate.notAfter)}</span>` : ''}</td>
<td>${k.heldBy}</td><td><code>${k.file}</code><br>${k.present ? html`mode ${k.fileMode} · ${when(k.fileCreatedAt)}` : html`<span class="pill warn">absent</span>`}</td>
<td>${k.algorithm ?? '—'}</td><td><code>${k.fingerprint ?? '—'}</code><br><span class="muted">${k.fingerprintKind === 'hmac-key-id' ? 'HMAC key id (the key itself is never shown)' : 'SHA-256 of the public key (SPKI)'}</span></td><td><code>${k.reproduce}</code></td></tr>`,
  )}</tbody></table></section>`;
}

export function identitySection(r: ReportDocument): Html {
  const i = r.identities;
  const p = r.policy;
  return html`<section id="identities" aria-labelledby="h-id"><h2 id="h-id">3. The unit of authentication: identities, roles, policy</h2>
<h3>Agent identities (client certificates of the tenant CA)</h3><table><thead><tr><th>Name</th><th>SPIFFE id</th><th>Serial</th><th>Roles</th><th>Expires</th><th>State</th></tr></thead><tbody>${i.agents.map(
    (a) =>
      html`<tr><td>${a.name}</td><td><code>${a.spiffeId}</code></td><td><code>${short(a.certSerial)}</code></td><td>${a.roles.join(', ') || '—'}</td><td>${when(a.notAfter)}</td><td>${a.revokedAt ? html`<span class="pill bad">revoked ${when(a.revokedAt)}</span>` : html`<span class="pill ok">active</span>`}</td></tr>`,
  )}</tbody></table>${cmd(i.reproduce)}
<h3>Console accounts</h3><table><thead><tr><th>Name</th><th>Role</th><th>May reveal PII</th><th>State</th></tr></thead><tbody>${i.consoleAccounts.map(
    (a) =>
      html`<tr><td>${a.name}</td><td>${a.role}</td><td>${a.revealPii ? 'yes' : 'no'}</td><td>${a.disabledAt ? `disabled ${when(a.disabledAt)}` : 'active'}</td></tr>`,
  )}</tbody></table>
<h3>Policy in force</h3><p>${p.current ? html`Version <strong>${p.current.seq}</strong>, SHA-256 <code>${p.current.hash}</code>, from <code>${p.current.source}</code>, loaded ${when(p.current.loadedAt)}; catalog mode <strong>${p.catalogMode ?? '—'}</strong>.` : 'No policy recorded: every call is refused.'}</p>
<table><thead><tr><th>Role</th><th>Tools</th></tr></thead><tbody>${p.roles.map((role) => html`<tr><td>${role.name}${role.description ? html`<br><span class="muted">${role.description}</span>` : ''}</td><td><code>${role.tools.join(' ')}</code></td></tr>`)}</tbody></table>
<table><thead><tr><th>Identity selector</th><th>Roles</th></tr></thead><tbody>${p.bindings.map((b) => html`<tr><td><code>${b.selector}</code></td><td>${b.roles.join(', ')}</td></tr>`)}</tbody></table>
<h3>Policy history in the period</h3><table><thead><tr><th>Version</th><th>Loaded</th><th>SHA-256</th><th>Source</th></tr></thead><tbody>${p.history.map(
    (v) =>
      html`<tr><td>${v.seq}</td><td>${when(v.loadedAt)}</td><td><code>${v.hash}</code></td><td><code>${v.source}</code></td></tr>`,
  )}</tbody></table>${cmd(p.reproduce)}</section>`;
}

export function auditSection(r: ReportDocument): Html {
  const a = r.audit;
  const v = a.verification;
  return html`<section id="audit" aria-labelledby="h-audit"><h2 id="h-audit">4. Where the audit lives and who can tamper</h2>
<p>Verification of the trail in this connector's store with the audit key <code>${short(a.keyId, 24)}</code>: ${v ? pill(v.ok, 'OK', 'FAILED') : pill(null, '', '', 'no audit key yet')}</p>
${v ? html`<table><tbody><tr><th>Entries</th><td>${v.entries}</td></tr><tr><th>Signed through entry</th><td>${v.signedThrough}</td></tr><tr><th>Local checkpoints</th><td>${v.checkpoints}</td></tr><tr><th>Witnessed checkpoints</th><td>${v.witnessedCheckpoints}${v.witnessedThrough !== undefined ? html` · witnessed through entry ${v.witnessedThrough}` : ''}${v.quorum !== undefined ? html` · witnesses reached ${v.witnessesReached ?? 0} of quorum ${v.quorum}` : ''}</td></tr>${v.notChecked ? html`<tr><th>Not checked</th><td>${v.notChecked}</td></tr>` : ''}<tr><th>Head</th><td><code>${v.headHash ?? '—'}</code></td></tr>${v.firstProblem ? html`<tr><th>First problem</th><td><span class="pill bad">${v.firstProblem.kind}</span> entry ${v.firstProblem.seq}: ${v.firstProblem.detail}</td></tr>` : ''}</tbody></table>` : ''}
<h3>Witnesses (checkpoints cosigned outside this connector)</h3><table><thead><tr><th>Witness</th><th>URL</th><th>Consulted by this verification</th></tr></thead><tbody>${a.witnesses.map(
    (w) =>
      html`<tr><td>${w.name}</td><td><code>${w.url}</code></td><td>${pill(w.consulted, 'yes', 'no')}</td></tr>`,
  )}</tbody></table>${a.notes.map((n) => html`<p class="muted">${n}</p>`)}
<p class="muted">Latest local checkpoint: ${a.latestCheckpoint ? html`tree size ${a.latestCheckpoint.treeSize}, head <code>${short(a.latestCheckpoint.headHash, 24)}</code>, ${when(a.latestCheckpoint.time)}` : 'none'}.</p>${cmd(a.reproduce)}
<h3>Admin actions in the period</h3><table><thead><tr><th>Entry</th><th>Time</th><th>Action</th><th>Actor</th><th>Target</th></tr></thead><tbody>${r.activity.adminActions.map(
    (x) =>
      html`<tr><td>${x.seq}</td><td>${when(x.time)}</td><td>${x.action}</td><td>${x.actor}</td><td><code>${x.target ?? '—'}</code></td></tr>`,
  )}</tbody></table></section>`;
}

export function isolationSection(r: ReportDocument): Html {
  return html`<section id="isolation" aria-labelledby="h-iso"><h2 id="h-iso">5. What isolates us</h2>
<p>This tenant has its own TLS key and hostname (<code>${r.dataPath.tenantHost ?? '—'}</code>): a connection meant for another tenant fails the TLS handshake. Local upstreams run in a sandbox:</p>
<table><thead><tr><th>Upstream</th><th>Kind</th><th>Sandbox mode</th><th>Network</th><th>Sandboxed on this host</th><th>Running</th></tr></thead><tbody>${r.sandbox.upstreams.map(
    (u) =>
      html`<tr><td>${u.name}</td><td>${u.kind}</td><td>${u.mode ?? '—'}</td><td>${u.network === null ? '—' : u.network ? 'allowed' : 'none'}</td><td>${u.kind === 'http' ? html`<span class="muted">${u.reason}</span>` : pill(u.sandboxed, 'yes', 'NO')}${u.kind === 'stdio' && u.reason ? html` <span class="muted">${u.reason}</span>` : ''}</td><td>${u.live ? `${u.live.state}${u.live.sandboxed === undefined ? '' : u.live.sandboxed ? ', sandboxed' : ', NOT sandboxed'}` : '—'}</td></tr>`,
  )}</tbody></table>${cmd(r.sandbox.reproduce)}</section>`;
}

export function governanceSection(r: ReportDocument): Html {
  const c = r.catalog;
  const a = r.approvals;
  return html`<section id="catalog" aria-labelledby="h-cat"><h2 id="h-cat">Catalog: pins, drift, kill switch</h2>
<table><thead><tr><th>Tool</th><th>Upstream</th><th>State</th><th>Approved</th><th>Served</th><th>Drift</th><th>Kill switch</th></tr></thead><tbody>${c.tools.map(
    (t) =>
      html`<tr><td><code>${t.tool}</code></td><td>${t.upstream ?? '—'}</td><td>${t.status}${t.findings ? html` <span class="pill warn">${t.findings} scan finding(s)</span>` : ''}</td><td><code>${short(t.approvedHash, 12)}</code>${t.approvedBy ? html` <span class="muted">by ${t.approvedBy}</span>` : ''}</td><td><code>${short(t.observedHash, 12)}</code></td><td>${t.drift ? html`<span class="pill bad">changed</span>` : html`<span class="pill ok">none</span>`}</td><td>${t.killSwitch ? html`<span class="pill bad">off</span> ${t.killSwitch.reason} <span class="muted">(${t.killSwitch.by}, ${when(t.killSwitch.at)})</span>` : '—'}</td></tr>`,
  )}</tbody></table>
<h3>Catalog events in the period</h3><table><thead><tr><th>#</th><th>Time</th><th>Tool</th><th>Event</th><th>By</th></tr></thead><tbody>${c.events.map(
    (e) =>
      html`<tr><td>${e.seq}</td><td>${when(e.at)}</td><td><code>${e.tool}</code></td><td>${e.action}</td><td>${e.actor}</td></tr>`,
  )}</tbody></table>${cmd(c.reproduce)}</section>
<section id="approvals" aria-labelledby="h-appr"><h2 id="h-appr">Approvals and decisions</h2>
<p>${Object.entries(a.counts).map(([k, n]) => html`<span class="pill info">${k}: ${n}</span> `)}</p>
<table><thead><tr><th>Request</th><th>Agent</th><th>Tool</th><th>Requested</th><th>Decision</th><th>By</th><th>Reason</th></tr></thead><tbody>${a.items.map(
    (x) =>
      html`<tr><td><code>${short(x.id, 12)}</code></td><td>${x.identity}</td><td><code>${x.tool}</code></td><td>${when(x.createdAt)}</td><td>${x.status}${x.decidedAt ? html` <span class="muted">${when(x.decidedAt)}</span>` : ''}</td><td>${x.decidedBy ?? '—'}</td><td>${x.reason ?? ''}</td></tr>`,
  )}</tbody></table>${cmd(a.reproduce)}</section>`;
}

export function activitySection(r: ReportDocument): Html {
  const act = r.activity;
  return html`<section id="activity" aria-labelledby="h-act"><h2 id="h-act">Calls and PII in the period</h2>
<p>${act.entriesInScope} audit entries in scope, ${act.toolCalls} tool calls.</p>
<table><thead><tr><th>Agent</th><th>Tool</th><th>Upstream</th><th>Calls</th><th>Allowed</th><th>Refused</th><th>Errors</th><th>PII tokenized</th></tr></thead><tbody>${act.flows.map(
    (f) =>
      html`<tr><td>${f.agent}</td><td><code>${f.tool}</code></td><td>${f.upstream ?? '—'}</td><td>${f.calls}</td><td>${f.allowed}</td><td>${f.denied}</td><td>${f.errors}</td><td>${Object.entries(f.pii).map(([k, n]) => html`<span class="pill info">${k} ${n}</span> `)}</td></tr>`,
  )}</tbody></table>
<h3>PII categories per tool</h3><table><thead><tr><th>Tool</th><th>Classes</th></tr></thead><tbody>${
    act.piiByTool.length === 0
      ? html`<tr><td colspan="2" class="muted">No PII recorded in the trail for this period.</td></tr>`
      : act.piiByTool.map(
          (t) =>
            html`<tr><td><code>${t.tool}</code></td><td>${Object.entries(t.classes).map(([k, n]) => html`<span class="pill info">${k} ${n}</span> `)}</td></tr>`,
        )
  }</tbody></table>${cmd(act.reproduce)}</section>`;
}

export function discoverySection(r: ReportDocument): Html {
  const d = r.discovery;
  if (!d) return html``;
  return html`<section id="inventory" aria-labelledby="h-inv"><h2 id="h-inv">Inventory: MCP servers on the network</h2>
<p>Probed ${d.probed} address:port pairs in ${d.cidrs.join(', ')} ports ${d.ports} (${when(d.startedAt)}); ${d.open} open; ${d.endpoints.length} MCP endpoints, ${d.endpoints.filter((e) => !e.governed).length} not governed by this connector.</p>
<table><thead><tr><th>Endpoint</th><th>Governed</th><th>Server</th><th>Eras</th><th>Tools</th></tr></thead><tbody>${d.endpoints.map(
    (e) =>
      html`<tr><td><code>${e.url}</code></td><td>${e.governed ? html`<span class="pill ok">yes: ${e.upstream}</span>` : html`<span class="pill bad">no (shadow MCP)</span>`}</td><td>${e.serverInfo ? `${e.serverInfo.name} ${e.serverInfo.version}` : '—'}</td><td>${e.eras.join(', ')}</td><td><code>${e.tools.join(' ')}</code></td></tr>`,
  )}</tbody></table>${cmd(d.reproduce)}</section>`;
}
