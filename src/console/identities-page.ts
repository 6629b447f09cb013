/**
 * The Identities page: agents with client certificates from the tenant CA (issued here, revocable
 * here, effective on the agent's next request), and the OAuth subjects / clients the policy names.
 */
import { html } from 'hono/html';
import type { Policy } from '../policy/policy-schema.js';
import type { AgentIdentityRecord } from '../store/store.js';
import { csrfField, empty, type Html, isAdmin, pill, relative, time, type Viewer } from './console-layout.js';

/** Default validity offered in the issue form (days). */
export const DEFAULT_ISSUE_DAYS = 90;

export function renderIdentitiesBody(opts: {
  identities: readonly AgentIdentityRecord[];
  policy: Policy | undefined;
  canIssue: boolean;
  viewer: Viewer;
  now: number;
  issued?: { name: string; certFile: string; keyFile: string; caFile: string };
}): Html {
  const byName = new Map<string, AgentIdentityRecord[]>();
  for (const i of opts.identities) byName.set(i.name, [...(byName.get(i.name) ?? []), i]);
  const rolesOf = (name: string) =>
    opts.policy?.identities.filter((e) => e.name === name).flatMap((e) => e.roles) ?? [];
  const rows = [...byName].map(([name, certs]) => {
    const active = certs.filter((c) => c.revokedAt === null && c.notAfter > opts.now);
    const latest = certs[0];
    const state = active.length
      ? pill('ok', 'active')
      : certs.some((c) => c.revokedAt !== null)
        ? pill('bad', 'revoked')
        : pill('warn', 'expired');
    const roles = rolesOf(name);
    const revoke =
      isAdmin(opts.viewer) && active.length
        ? html`<form method="post" action="/identities/${name}/revoke" data-confirm="Revoke every certificate of ${name}? Its next request is refused.">${csrfField(opts.viewer)}<button type="submit" class="danger" aria-label="Revoke ${name}">Revoke</button></form>`
        : '';
    return html`<tr><td><strong>${name}</strong><div class="muted mono">${latest?.spiffeId ?? ''}</div></td>
<td>mTLS client certificate</td><td>${roles.length ? roles.join(', ') : html`<span class="muted">no role in the policy</span>`}</td>
<td>${state}</td><td class="num">${certs.length}</td>
<td>${latest ? html`${time(latest.notAfter)} <span class="muted">(${relative(latest.notAfter, opts.now)})</span>` : ''}</td><td>${revoke}</td></tr>`;
  });
  const tokenEntries =
    opts.policy?.identities.filter((e) => e.subject !== undefined || e.clientId !== undefined) ?? [];
  const tokens = tokenEntries.length
    ? html`<table><thead><tr><th scope="col">Token selector</th><th scope="col">Issuer</th><th scope="col">Roles</th></tr></thead><tbody>${tokenEntries.map(
        (e) =>
          html`<tr><td>${e.subject !== undefined ? html`subject <code>${e.subject}</code>` : html`client <code>${e.clientId ?? ''}</code>`}</td><td>${e.issuer ?? html`<span class="muted">any configured issuer</span>`}</td><td>${e.roles.join(', ')}</td></tr>`,
      )}</tbody></table>`
    : empty('The policy names no OAuth subjects or clients.');
  const issue =
    isAdmin(opts.viewer) && opts.canIssue
      ? html`<h2>Issue an identity</h2>
<form method="post" action="/identities" class="stack">${csrfField(opts.viewer)}
<label>Agent name<input name="name" required pattern="[a-z0-9][a-z0-9._\\-]{0,62}" maxlength="63" autocomplete="off" aria-describedby="name-help"></label>
<label>Valid for (days)<input name="days" type="number" min="1" max="825" value="${DEFAULT_ISSUE_DAYS}" required></label>
<button type="submit">Issue certificate</button></form>
<p id="name-help" class="muted">Lower-case letters, digits, dot, dash and underscore. The certificate and key are written on the connector, for you to hand to the agent over a channel you trust.</p>`
      : isAdmin(opts.viewer)
        ? html`<p class="muted">Issuing needs the tenant CA, which this console was not given. Use <code>airlock identity issue &lt;name&gt;</code>.</p>`
        : '';
  const issued = opts.issued
    ? html`<div class="notice ok" role="status">Issued <strong>${opts.issued.name}</strong>. Files on the connector: certificate <code>${opts.issued.certFile}</code>, private key <code>${opts.issued.keyFile}</code>, tenant CA <code>${opts.issued.caFile}</code>.</div>`
    : '';
  return html`<h1>Identities</h1>
<p class="lead">Every request is checked against the agent's identity; a revocation takes effect on its next request, even in a live session.</p>
${issued}
<h2>Agents with client certificates</h2>
${rows.length ? html`<table><thead><tr><th scope="col">Agent</th><th scope="col">Authenticates with</th><th scope="col">Roles</th><th scope="col">State</th><th scope="col" class="num">Certificates</th><th scope="col">Latest expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${rows}</tbody></table>` : empty('No agent identities yet. Issue one below or with "airlock identity issue <name>".')}
<h2>Hosted clients and other OAuth agents (bearer tokens)</h2>
${tokens}
${issue}`;
}
