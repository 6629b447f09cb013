/** Small response helpers shared by the console's routes: error answers (JSON or HTML) and form fields. */
import { html } from 'hono/html';
import type { ApprovalRecord } from '../store/store.js';
import type { Ctx } from './console-env.js';
import { renderPage } from './console-layout.js';

/**
 * An error as JSON (API clients, `Accept: application/json`) or as a small HTML page.
 *
 * @example
 * return respondError(c, 403, 'AIRLOCK_CONSOLE_FORBIDDEN', 'Your role may not decide approvals.');
 */
export function respondError(c: Ctx, status: number, code: string, message: string) {
  const accept = c.req.header('accept') ?? '';
  if (
    accept.includes('application/json') ||
    c.req.path.startsWith('/api/') ||
    !accept.includes('text/html')
  ) {
    return c.json({ error: { code, message } }, status as 400);
  }
  return c.html(
    renderPage(
      { title: 'Refused' },
      html`<h1>Refused</h1><p class="notice error" role="alert">${message}</p><p><a href="/">Go to the overview</a></p>`,
    ),
    status as 400,
  );
}

/** A string field of a form or JSON body, or undefined. */
export async function formField(c: Ctx, name: string): Promise<string | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
    return typeof body[name] === 'string' ? body[name] : undefined;
  }
  const form = await c.req.parseBody();
  const value = form[name];
  return typeof value === 'string' ? value : undefined;
}

/** A record for JSON answers: arguments stay on the console's pages (they may carry personal data). */
export function withoutArguments(r: ApprovalRecord): Omit<ApprovalRecord, 'arguments'> {
  const { arguments: _args, ...rest } = r;
  return rest;
}
