/**
 * The Catalog page: servers and their tools with tier (from the policy in force), pin state
 * (approved, or quarantined as unreviewed / changed / poisoning), the definition diff to review, and
 * the kill switch. Built on `CatalogAdmin` (src/catalog/catalog-admin.ts).
 */
import { html } from 'hono/html';
import type { CatalogEntry, ToolDiff } from '../catalog/catalog-admin.js';
import type { CatalogEventRecord } from '../store/store.js';
import type { ToolFacts } from './approval-facts.js';
import { csrfField, empty, type Html, isAdmin, pill, time, type Viewer } from './console-layout.js';
import { renderPatch } from './patch-view.js';

/** Characters of a tool's description shown in the catalog list (the tool page shows all of it). */
export const CATALOG_DESCRIPTION_PREVIEW = 240;

/** Separators the connector may use between server and tool name. */
const SEPARATORS = ['.', '__', '_'];

/** The server a namespaced tool belongs to (longest matching server name), or `(unknown server)`. */
export function serverOf(tool: string, servers: readonly string[]): string {
  let best = '';
  for (const s of servers) {
    if (s.length > best.length && SEPARATORS.some((sep) => tool.startsWith(`${s}${sep}`))) best = s;
  }
  return best || '(unknown server)';
}

export function renderCatalogBody(opts: {
  entries: readonly CatalogEntry[];
  /** Title, description and annotations of each tool's pinned definition. */
  facts: ReadonlyMap<string, ToolFacts | undefined>;
  servers: ReadonlyArray<{ name: string; state: string }>;
  tierOf: ((tool: string) => string) | undefined;
  viewer: Viewer;
}): Html {
  const names = opts.servers.map((s) => s.name);
  const groups = new Map<string, CatalogEntry[]>();
  for (const s of names) groups.set(s, []);
  for (const e of opts.entries) {
    const server = serverOf(e.tool, names);
    const list = groups.get(server) ?? [];
    list.push(e);
    groups.set(server, list);
  }
  const quarantined = opts.entries.filter(
    (e) => e.status === 'changed' || e.status === 'unreviewed' || e.status === 'poisoning',
  ).length;
  const disabled = opts.entries.filter((e) => e.status === 'disabled').length;
  const sections = [...groups].map(([server, entries]) => {
    const state = opts.servers.find((s) => s.name === server)?.state;
    const heading = html`<h2 id="server-${server}">${server} ${state ? pill(state === 'ready' ? 'ok' : 'warn', state) : ''}</h2>`;
    if (entries.length === 0)
      return html`${heading}${empty('No tools from this server have been seen yet: they are pinned when an agent first lists them.')}`;
    return html`${heading}<table class="catalog"><thead><tr><th scope="col">Tool</th><th scope="col">Tier</th><th scope="col">Risk</th><th scope="col">Pin state</th><th scope="col">Kill switch</th></tr></thead><tbody>${entries.map(
      (e) => renderToolRow(e, opts.facts.get(e.tool), opts.tierOf, opts.viewer),
    )}</tbody></table>`;
  });
  return html`<h1>Catalog</h1>
<p class="lead">Tool definitions are pinned: a definition that changes after approval is quarantined until an admin reviews the diff. The kill switch stops a tool for every agent at once and hides it from their tool lists.</p>
<div class="cards"><div class="card"><div class="label">Tools</div><div class="value">${opts.entries.length}</div></div>
<div class="card"><div class="label">In quarantine</div><div class="value">${quarantined}</div></div>
<div class="card"><div class="label">Disabled (kill switch)</div><div class="value">${disabled}</div></div></div>
${opts.entries.length === 0 && names.length === 0 ? empty('No servers and no tools yet.') : sections}`;
}

function renderToolRow(
  e: CatalogEntry,
  facts: ToolFacts | undefined,
  tierOf: ((tool: string) => string) | undefined,
  viewer: Viewer,
): Html {
  const tier = tierOf ? tierOf(e.tool) : undefined;
  const toolUrl = `/catalog/tools/${encodeURIComponent(e.tool)}`;
  const description = facts?.description ?? '';
  const preview =
    description.length > CATALOG_DESCRIPTION_PREVIEW
      ? `${description.slice(0, CATALOG_DESCRIPTION_PREVIEW)}…`
      : description;
  return html`<tr id="tool-${e.tool}"><td><a href="${toolUrl}"><code>${e.tool}</code></a>${facts?.title ? html` <strong>${facts.title}</strong>` : ''}
<div class="desc">${preview || html`<span class="muted">No description.</span>`}</div></td>
<td>${tier ? pill(tier === 'auto' ? 'ok' : tier === 'block' ? 'bad' : 'warn', tier) : html`<span class="muted">–</span>`}</td>
<td>${renderRisk(e, facts)}</td>
<td>${statePill(e)}${e.disabled ? html`<div class="muted">disabled by ${e.disabled.disabledBy} ${time(e.disabled.disabledAt)}: ${e.disabled.reason}</div>` : ''}</td>
<td>${renderKillSwitch(e, viewer, toolUrl)}</td></tr>`;
}

/** Risk at a glance: poisoning-scan severity, what the annotations say the tool does, drift class. */
export function renderRisk(e: CatalogEntry, facts: ToolFacts | undefined): Html {
  const parts: Html[] = [];
  if (e.findings.length)
    parts.push(
      pill(
        e.severity === 'high' ? 'bad' : 'warn',
        `scan: ${e.findings.length} finding${e.findings.length === 1 ? '' : 's'} (${e.severity ?? 'low'})`,
      ),
    );
  const a = facts?.annotations ?? {};
  if (a.destructiveHint === true) parts.push(pill('bad', 'destructive'));
  else if (a.readOnlyHint === true) parts.push(pill('ok', 'read-only'));
  if (a.openWorldHint === true) parts.push(pill('warn', 'open world'));
  if (e.drift) parts.push(pill(e.drift === 'breaking' ? 'bad' : 'warn', `drift: ${e.drift}`));
  return parts.length ? html`${parts}` : html`<span class="muted">nothing flagged</span>`;
}

/** Enable (admins, when disabled), or a secondary "Disable…" that opens a form with a reason and asks to confirm. */
function renderKillSwitch(e: CatalogEntry, viewer: Viewer, toolUrl: string): Html {
  if (!isAdmin(viewer)) return e.disabled ? pill('bad', 'disabled') : html`<span class="muted">on</span>`;
  if (e.disabled)
    return html`<form method="post" action="${toolUrl}/enable">${csrfField(viewer)}<button type="submit" class="secondary" aria-label="Enable ${e.tool} again">Enable</button></form>`;
  return html`<details class="kill"><summary>Disable…</summary><form method="post" action="${toolUrl}/disable" class="stack" data-confirm="Disable ${e.tool} for every agent now?">${csrfField(viewer)}<label>Reason<input name="reason" maxlength="500" aria-label="Reason for disabling ${e.tool}"></label><button type="submit" class="secondary" aria-label="Kill switch: disable ${e.tool}">Disable for every agent</button></form></details>`;
}

function statePill(e: CatalogEntry): Html {
  const state = e.pinState;
  if (state === 'approved') return pill('ok', 'approved');
  if (state === 'changed') return pill('bad', e.drift ? `changed: review (${e.drift})` : 'changed: review');
  if (state === 'poisoning') return pill('bad', 'quarantined: poisoning');
  if (state === 'unreviewed') return pill('warn', 'unreviewed');
  return pill('neutral', 'not seen');
}

export function renderToolBody(opts: {
  tool: string;
  diff: ToolDiff | undefined;
  entry: CatalogEntry | undefined;
  events: readonly CatalogEventRecord[];
  viewer: Viewer;
  /** The approved definition, pretty-printed, shown when nothing changed. */
  pinnedDefinition?: string;
  facts?: ToolFacts | undefined;
}): Html {
  const d = opts.diff;
  const toolUrl = `/catalog/tools/${encodeURIComponent(opts.tool)}`;
  const patch =
    d && !d.changed && opts.pinnedDefinition !== undefined
      ? html`<pre aria-label="Pinned definition">${opts.pinnedDefinition}</pre>`
      : d
        ? renderPatch(d.patch, 'Definition diff, approved to served')
        : empty('This tool has not been seen from its server yet, so there is no definition to show.');
  const approve =
    d?.changed && isAdmin(opts.viewer)
      ? html`<form method="post" action="${toolUrl}/approve" class="stack" data-confirm="Approve this definition for every agent?">${csrfField(opts.viewer)}<input type="hidden" name="hash" value="${d.observedHash}"><button type="submit" class="approve">Approve the served definition (${d.observedHash.slice(0, 12)})</button></form>`
      : d && !d.changed
        ? html`<p>${pill('ok', 'approved')} The served definition is the approved one.</p>`
        : '';
  const findings = d?.findings.length
    ? html`<h2>Poisoning scan findings</h2><ul>${d.findings.map(
        (f) =>
          html`<li>${pill(f.severity === 'high' ? 'bad' : 'warn', f.severity)} <strong>${f.rule}</strong> at <code>${f.where}</code>: ${f.message}${f.excerpt ? html` — <code>${f.excerpt}</code>` : ''}</li>`,
      )}</ul>`
    : '';
  const events = opts.events.length
    ? html`<table><thead><tr><th scope="col">When</th><th scope="col">Change</th><th scope="col">By</th><th scope="col">Hash</th></tr></thead><tbody>${opts.events.map(
        (e) =>
          html`<tr><td>${time(e.at)}</td><td>${e.action}</td><td>${e.actor}</td><td>${e.hash ? html`<code>${e.hash.slice(0, 12)}</code>` : ''}</td></tr>`,
      )}</tbody></table>`
    : empty('No catalog history for this tool.');
  return html`<h1>Tool <code>${opts.tool}</code></h1>
<p><a href="/catalog">Back to the catalog</a></p>
${opts.facts ? html`<div class="tool-facts">${opts.facts.title ? html`<p class="tool-title">${opts.facts.title}</p>` : ''}<p>${opts.facts.description ?? html`<span class="muted">No description.</span>`}</p>${opts.entry ? html`<p>${renderRisk(opts.entry, opts.facts)}</p>` : ''}</div>` : ''}
${opts.entry?.disabled ? html`<p class="notice error" role="status">Disabled by ${opts.entry.disabled.disabledBy}: ${opts.entry.disabled.reason}</p>` : ''}
<h2>${d && !d.changed ? 'Pinned definition (approved and served)' : 'Definition: approved → served'}</h2>
${d?.drift ? html`<p class="drift">Change: ${pill(d.drift.drift === 'breaking' ? 'bad' : 'warn', d.drift.drift)}</p><ul>${d.drift.changes.map((c) => html`<li>${c.drift}: <code>${c.path}</code> ${c.message}</li>`)}</ul>` : ''}
${patch}
${approve}
${findings}
<h2>History</h2>
${events}`;
}
