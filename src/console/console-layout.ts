/**
 * The frame every console page shares: skip link, header with navigation (the current page marked
 * with `aria-current`), the signed-in account and a logout form, a status/alert area, and `main`.
 * Pages are server-rendered with `hono/html` (every interpolated value is HTML-escaped).
 */
import { html, raw } from 'hono/html';
import type { AdminRole } from '../store/store.js';

/** What `html\`…\`` produces. */
export type Html = ReturnType<typeof html>;

export type NavKey = 'overview' | 'approvals' | 'audit' | 'catalog' | 'identities' | 'policy';

const NAV: Array<{ key: NavKey; href: string; label: string }> = [
  { key: 'overview', href: '/', label: 'Overview' },
  { key: 'approvals', href: '/approvals', label: 'Approvals' },
  { key: 'audit', href: '/audit', label: 'Audit' },
  { key: 'catalog', href: '/catalog', label: 'Catalog' },
  { key: 'identities', href: '/identities', label: 'Identities' },
  { key: 'policy', href: '/policy', label: 'Policy' },
];

/** The signed-in account, as pages need it. */
export interface Viewer {
  name: string;
  role: AdminRole;
  revealPii: boolean;
  csrfToken: string;
}

export interface Notice {
  kind: 'ok' | 'error' | 'warn';
  text: string;
}

export interface PageFrame {
  title: string;
  active?: NavKey;
  viewer?: Viewer;
  tenantHost?: string;
  pendingCount?: number;
  notice?: Notice;
}

/** A full HTML document. */
export function renderPage(frame: PageFrame, body: Html | Html[]): Html {
  const viewer = frame.viewer;
  const count = frame.pendingCount ?? 0;
  const nav = viewer
    ? html`<nav class="main" aria-label="Console sections"><ul>${NAV.map(
        (item) =>
          html`<li><a href="${item.href}"${item.key === frame.active ? raw(' aria-current="page"') : ''}>${item.label}${
            item.key === 'approvals'
              ? html`<span class="badge" data-pending-count data-count="${count}" aria-label="${count} pending">${count}</span>`
              : ''
          }</a></li>`,
      )}</ul></nav>
<div class="who"><span>Signed in as <strong>${viewer.name}</strong> <span class="muted">(${viewer.role})</span></span>
<form method="post" action="/logout">${csrfField(viewer)}<button type="submit">Sign out</button></form></div>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} · Airlock console${frame.tenantHost ? ` · ${frame.tenantHost}` : ''}</title>
<link rel="stylesheet" href="/console.css"><script src="/console.js" defer></script></head>
<body${viewer ? raw(' data-live') : ''}>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><p class="brand">Airlock console${frame.tenantHost ? html`<small>${frame.tenantHost}</small>` : ''}</p>${nav}</header>
<main id="main" tabindex="-1">
<div id="announcer" class="sr-only" role="status" aria-live="polite"></div>
${frame.notice ? renderNotice(frame.notice) : ''}
${body}
</main></body></html>`;
}

export function renderNotice(notice: Notice): Html {
  return notice.kind === 'error'
    ? html`<div class="notice error" role="alert">${notice.text}</div>`
    : html`<div class="notice ${notice.kind}" role="status">${notice.text}</div>`;
}

/** The hidden CSRF field every state-changing form carries. */
export function csrfField(viewer: Pick<Viewer, 'csrfToken'>): Html {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrfToken}">`;
}

/** `<time>` with an ISO `datetime` and a readable UTC text. */
export function time(epochMs: number | null | undefined): Html {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs))
    return html`<span class="muted">–</span>`;
  const iso = new Date(epochMs).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

/** "3 min ago" / "in 2 h" relative to `now`. */
export function relative(epochMs: number, now: number): string {
  const delta = epochMs - now;
  const abs = Math.abs(delta);
  const unit =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return delta < 0 ? `${unit} ago` : `in ${unit}`;
}

/** A small status pill. */
export function pill(kind: 'ok' | 'bad' | 'warn' | 'neutral', text: string): Html {
  return html`<span class="pill ${kind}">${text}</span>`;
}

/** An empty-state paragraph. */
export function empty(text: string | Html): Html {
  return html`<p class="empty">${text}</p>`;
}

/** True when `role` may do admin actions (identities, catalog, kill switch). */
export function isAdmin(viewer: Pick<Viewer, 'role'>): boolean {
  return viewer.role === 'admin';
}

/** True when `role` may decide approvals. */
export function maySupervise(viewer: Pick<Viewer, 'role'>): boolean {
  return viewer.role === 'admin' || viewer.role === 'supervisor';
}
