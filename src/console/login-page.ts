/** The console's sign-in page (works without JavaScript). */
import { html, raw } from 'hono/html';
import { type Html, type Notice, renderPage } from './console-layout.js';

export function renderLoginPage(opts: {
  csrfToken: string;
  next: string;
  name?: string;
  notice?: Notice;
  noAccounts: boolean;
  tenantHost?: string;
  /** Sign-in through the customer's IdP: the button text and where it starts. */
  oidc?: { label: string; href: string };
}): Html {
  const body = html`<div class="login"><h1>Sign in</h1>
${
  opts.noAccounts
    ? html`<p class="notice warn" role="status">No console accounts exist yet. Create one on the connector host with <code>airlock console add-admin &lt;name&gt; --config connector.yaml</code> (the password is read from standard input).</p>`
    : ''
}
${opts.oidc ? html`<a class="button" href="${opts.oidc.href}">${opts.oidc.label}</a><p class="or">or with a local account (break-glass, for when the identity provider is unavailable)</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${opts.csrfToken}">
<input type="hidden" name="next" value="${opts.next}">
<label>Account name<input name="name" autocomplete="username" required maxlength="100" value="${opts.name ?? ''}"${opts.oidc ? '' : raw(' autofocus')}></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Sign in</button>
</form></div>`;
  return renderPage(
    {
      title: 'Sign in',
      ...(opts.notice ? { notice: opts.notice } : {}),
      ...(opts.tenantHost ? { tenantHost: opts.tenantHost } : {}),
    },
    body,
  );
}
