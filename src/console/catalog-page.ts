/**
 * The Catalog page: servers and their tools with tier (from the policy in force), pin state
 * (approved, or quarantined as unreviewed / changed / poisoning), the definition diff to review, and
 * the kill switch. Built on `CatalogAdmin` (src/catalog/catalog-admin.ts).
 */
import { html } from 'hono/html';
import type { CatalogEntry, ToolDiff } from '../catalog/catalog-admin.js';
import type { CatalogEventRecord } from '../store/store.js';
import { csrfField, empty, type Html, isAdmin, pill, time, type Viewer } from './console-layout.js';

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
    return html`${heading}<table><thead><tr><th scope="col">Tool</th><th scope="col">Tier</th><th scope="col">Pin state</th><th scope="col">Pinned definition</th><th scope="col">Findings</th><th scope="col">Kill switch</th></tr></thead><tbody>${entries.map(
      (e) => renderToolRow(e, opts.tierOf, opts.viewer),
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
  tierOf: ((tool: string) => string) | undefined,
  viewer: Viewer,
): Html {
  const tier = tierOf ? tierOf(e.tool) : undefined;
  const toolUrl = `/catalog/tools/${encodeURIComponent(e.tool)}`;
  const kill = isAdmin(viewer)
    ? e.disabled
      ? html`<form method="post" action="${toolUrl}/enable">${csrfField(viewer)}<button type="submit" class="secondary" aria-label="Enable ${e.tool} again">Enable</button></form>`
      : html`<form method="post" action="${toolUrl}/disable" class="stack" data-confirm="Disable ${e.tool} for every agent now?">${csrfField(viewer)}<label>Reason<input name="reason" maxlength="500" aria-label="Reason for disabling ${e.tool}"></label><button type="submit" class="danger" aria-label="Kill switch: disable ${e.tool}">Disable</button></form>`
    : e.disabled
      ? pill('bad', 'disabled')
      : html`<span class="muted">on</span>`;
  return html`<tr id="tool-${e.tool}"><td><a href="${toolUrl}"><code>${e.tool}</code></a></td>
<td>${tier ? pill(tier === 'auto' ? 'ok' : tier === 'block' ? 'bad' : 'warn', tier) : html`<span class="muted">–</span>`}</td>
<td>${statePill(e)}${e.disabled ? html`<div class="muted">disabled by ${e.disabled.disabledBy} ${time(e.disabled.disabledAt)}: ${e.disabled.reason}</div>` : ''}</td>
<td>${e.approvedHash ? html`<code>${e.approvedHash.slice(0, 12)}</code> <span class="muted">by ${e.approvedBy ?? '?'}</span>` : html`<span class="muted">not approved</span>`}</td>
<td>${e.findings.length ? pill(e.severity === 'high' ? 'bad' : 'warn', `${e.findings.length} (${e.severity ?? 'low'})`) : html`<span class="muted">none</span>`}</td>
<td>${kill}</td></tr>`;
}

function statePill(e: CatalogEntry): Html {
  const state = e.pinState;
  if (state === 'approved') return pill('ok', 'approved');
  if (state === 'changed') return pill('bad', 'changed: review');
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
}): Html {
  const d = opts.diff;
  const toolUrl = `/catalog/tools/${encodeURIComponent(opts.tool)}`;
  const patch =
    d && !d.changed && opts.pinnedDefinition !== undefined
      ? html`<pre aria-label="Pinned definition">${opts.pinnedDefinition}</pre>`
      : d
        ? html`<pre aria-label="Definition diff, approved to served">${d.patch
            .split('\n')
            .filter((line) => !/^=+$/.test(line))
            .map((line) =>
              line.startsWith('+') && !line.startsWith('+++')
                ? html`<span class="add">${line}</span>\n`
                : line.startsWith('-') && !line.startsWith('---')
                  ? html`<span class="del">${line}</span>\n`
                  : line.startsWith('@@')
                    ? html`<span class="hunk">${line}</span>\n`
                    : html`${line}\n`,
            )}</pre>`
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
${opts.entry?.disabled ? html`<p class="notice error" role="status">Disabled by ${opts.entry.disabled.disabledBy}: ${opts.entry.disabled.reason}</p>` : ''}
<h2>${d && !d.changed ? 'Pinned definition (approved and served)' : 'Definition: approved → served'}</h2>
${patch}
${approve}
${findings}
<h2>History</h2>
${events}`;
}
