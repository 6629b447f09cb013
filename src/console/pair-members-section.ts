/**
 * The "Connector members" section of the Overview page: every member of a connector pair as its
 * heartbeat in the shared store reports it — connector id, version, tunnels up, each upstream up or
 * down, which member signs the audit checkpoints, ready, and `stale` when the heartbeat is old.
 *
 * @example
 * const section = renderPairMembers(await store.members.listMembers(), Date.now());
 */
import { html } from 'hono/html';
import { isStaleMember } from '../store/member-repository.js';
import type { MemberRecord } from '../store/store.js';
import { type Html, pill, relative } from './console-layout.js';

/** One table row per member; an empty state when no member reported yet. */
export function renderPairMembers(members: readonly MemberRecord[], now: number): Html {
  const rows = members.length
    ? members.map((m) => {
        const upstreams = m.upstreams.map(
          (u) => html`<code>${u.name}</code> ${u.up ? pill('ok', 'up') : pill('bad', 'down')} `,
        );
        const state = isStaleMember(m, now)
          ? pill('warn', 'stale')
          : m.ready
            ? pill('ok', 'ready')
            : pill('bad', 'not ready');
        return html`<tr data-member="${m.id}"><td><code>${m.id}</code></td><td>${m.version}</td><td>${m.host}:${m.pid}</td><td>${m.tunnels.up} of ${m.tunnels.wanted} up</td><td>${upstreams}</td><td>${m.auditSigner ? pill('neutral', 'signs checkpoints') : ''}</td><td>${state}</td><td>${relative(m.updatedAt, now)}</td></tr>`;
      })
    : [html`<tr><td colspan="8" class="empty">No member has reported yet.</td></tr>`];
  return html`<section aria-labelledby="h-members"><h2 id="h-members">Connector members</h2>
<table><thead><tr><th scope="col">Connector</th><th scope="col">Version</th><th scope="col">Host</th><th scope="col">Tunnels</th><th scope="col">Upstreams</th><th scope="col">Audit</th><th scope="col">State</th><th scope="col">Heartbeat</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}
