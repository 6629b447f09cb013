/**
 * What every page sub-app of the console shares: the store and queue, the clock and logger, the PII
 * scanner, the sessions, the page frame (`page`), the admin-audit path (`auditAdmin`) and the signed-in
 * viewer of a request (`currentViewer`). Built once by `createConsoleApp`.
 *
 * @example
 * const deps = createConsoleDeps(options);
 * app.route('/', auditRoutes(deps));
 */
import { getCookie } from 'hono/cookie';
import { type Logger, pino } from 'pino';
import { ApprovalQueue } from '../approvals/approval-queue.js';
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import { PiiScanner } from '../pii/pii-scanner.js';
import type { Store } from '../store/store.js';
import type { Ctx } from './console-env.js';
import { type Html, type NavKey, type Notice, renderPage, type Viewer } from './console-layout.js';
import type { ConsoleAppOptions } from './console-options.js';
import { ConsoleSessions, SESSION_COOKIE } from './console-sessions.js';

/** Extra parts of a rendered page. */
export interface PageExtras {
  tenantHost?: string;
  status?: number;
  notice?: Notice;
}

export interface ConsoleDeps {
  readonly options: ConsoleAppOptions;
  readonly store: Store;
  readonly queue: ApprovalQueue;
  /** Set when the console made its own queue (closed with the app). */
  readonly ownQueue: ApprovalQueue | undefined;
  readonly log: Logger;
  readonly now: () => number;
  readonly scanner: PiiScanner | undefined;
  readonly sessions: ConsoleSessions;
  /** Aborted when the app closes (ends live streams). */
  readonly closing: AbortController;
  /** A full page in the console frame (navigation, pending count, tenant host). */
  page(c: Ctx, title: string, active: NavKey, body: Html, extras?: PageExtras): Promise<Response>;
  /** Appends an admin event to the audit trail; a failure is logged, never thrown. */
  auditAdmin(event: AdminAuditEvent): Promise<void>;
  /** The signed-in viewer of this request (sets `viewer`, `account`, `sessionId`), or undefined. */
  currentViewer(c: Ctx): Promise<Viewer | undefined>;
  /** Number of pending approvals. */
  pendingCount(): Promise<number>;
}

/** See the module comment. */
export function createConsoleDeps(options: ConsoleAppOptions): ConsoleDeps {
  const store = options.store;
  const log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'console' });
  const now = options.now ?? Date.now;
  const ownQueue = options.approvals
    ? undefined
    : new ApprovalQueue({ repository: store.approvals, sweepIntervalMs: 0 });
  const queue = options.approvals ?? (ownQueue as ApprovalQueue);
  const sessions = new ConsoleSessions({ now, ...options.session });
  const scanner = options.pii === false ? undefined : (options.pii ?? new PiiScanner());
  const pendingCount = async () => (await queue.pending()).length;

  async function page(c: Ctx, title: string, active: NavKey, body: Html, extras: PageExtras = {}) {
    const host =
      extras.tenantHost ?? (await Promise.resolve(options.status()).catch(() => undefined))?.tenantHost;
    const frame = {
      title,
      active,
      viewer: c.get('viewer'),
      pendingCount: await pendingCount(),
      ...(host ? { tenantHost: host } : {}),
      ...(extras.notice ? { notice: extras.notice } : {}),
    };
    return c.html(renderPage(frame, body), (extras.status ?? 200) as 200);
  }

  async function auditAdmin(event: AdminAuditEvent): Promise<void> {
    if (!options.audit) return;
    await options.audit
      .append(event)
      .catch((err: unknown) => log.error({ err, action: event.action }, 'admin action could not be audited'));
  }

  async function currentViewer(c: Ctx): Promise<Viewer | undefined> {
    const sessionId = getCookie(c, SESSION_COOKIE);
    const session = sessions.get(sessionId);
    if (!session || !sessionId) return undefined;
    const account = await store.adminAccounts.getAdminAccount(session.account);
    if (!account || account.disabledAt !== null) {
      sessions.destroy(sessionId);
      return undefined;
    }
    const viewer: Viewer = {
      name: account.name,
      role: account.role,
      revealPii: account.revealPii,
      csrfToken: session.csrfToken,
    };
    c.set('viewer', viewer);
    c.set('account', account);
    c.set('sessionId', sessionId);
    return viewer;
  }

  return {
    options,
    store,
    queue,
    ownQueue,
    log,
    now,
    scanner,
    sessions,
    closing: new AbortController(),
    page,
    auditAdmin,
    currentViewer,
    pendingCount,
  };
}
