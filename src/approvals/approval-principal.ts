/**
 * Who decides an approval, as an authenticated principal with a stable id — never a display string:
 *
 * - `console:<account>`: a console account, signed in (the account name is its primary key and
 *   never changes; account names are ASCII, see src/store/admin-account-repository.ts);
 * - `local:<uid>@<host>`: an operator on the connector host using the CLI without `--as`; uid and host
 *   come from the operating system, not from a flag;
 * - `agent:<spiffe id>` / `agent:bearer:<subject>`: the requester of an approval (mTLS identities by
 *   their SPIFFE id, bearer identities by their token subject).
 *
 * Separation of duties compares these ids. In addition, an approver whose display name looks like the
 * requesting identity's name (same Unicode confusables skeleton: `demo‑agent` with U+2011 vs
 * `demo-agent`) is refused, so a look-alike can never pass for someone else in the trail.
 *
 * @example
 * await queue.approve(id, consoleApprover(account), 'checked');
 * await queue.approve(id, await cliApprover(store.adminAccounts, opts.as), 'checked');
 */
import { hostname, userInfo } from 'node:os';
import { confusableSkeleton } from '../catalog/confusable-fold.js';
import type {
  AdminAccountRecord,
  AdminAccountRepository,
  AdminRole,
  ApprovalRecord,
} from '../store/store.js';
import { APPROVAL_ERROR_CODES, ApprovalError } from './approval-error.js';

/** Who decides. */
export interface Approver {
  /** Stable principal id: `console:<account>` or `local:<uid>@<host>`. Compared, recorded, audited. */
  id: string;
  /** Display name for people (the account or OS user name). Never trusted for identity. */
  name: string;
  /** Where the decision was made: `console` or `cli`. */
  via: 'console' | 'cli';
  /** Principal ids of agent identities this person runs: approving their requests is self-approval. */
  actsFor?: readonly string[];
  /**
   * The console account's role, read from the store when the principal was made (`admin` for
   * `local:`). Two-person rules count only roles they name; unknown counts for none of them.
   */
  role?: AdminRole;
}

/** Roles that may decide approvals. */
const DECIDING_ROLES = new Set(['admin', 'supervisor']);
const PRINCIPAL_ID = /^(?:console:[^\s]+|local:\d+@[^\s]+)$/;

/** The principal of a signed-in console account (with its role when the account record is given). */
export function consoleApprover(
  account: Pick<AdminAccountRecord, 'name'> & Partial<Pick<AdminAccountRecord, 'role'>>,
): Approver {
  const principal: Approver = { id: `console:${account.name}`, name: account.name, via: 'console' };
  return account.role ? { ...principal, role: account.role } : principal;
}

/**
 * The principal of the operator running the CLI on this host: `local:<uid>@<host>`, from the OS.
 *
 * @example
 * localApprover() // { id: 'local:1000@connector-1', name: 'alice', via: 'cli', role: 'admin' }
 */
export function localApprover(): Approver {
  const info = userInfo();
  const uid = process.getuid?.() ?? info.uid;
  // The operator of the connector host holds its keys and store: an admin.
  return { id: `local:${uid}@${hostname()}`, name: info.username, via: 'cli', role: 'admin' };
}

/**
 * The CLI's approver: the named console account (it must exist under exactly that name, be enabled
 * and have a deciding role), or the local admin principal when no name is given. Throws
 * `ApprovalError` `AIRLOCK_APPROVAL_PRINCIPAL_UNKNOWN`.
 *
 * @example
 * const approver = await cliApprover(store.adminAccounts, opts.as);
 */
export async function cliApprover(
  accounts: AdminAccountRepository,
  as: string | undefined,
): Promise<Approver> {
  if (as === undefined) return localApprover();
  const account = await accounts.getAdminAccount(as);
  if (!account || account.name !== as || account.disabledAt !== null || !DECIDING_ROLES.has(account.role)) {
    throw new ApprovalError(
      APPROVAL_ERROR_CODES.principalUnknown,
      `--as ${JSON.stringify(as)}: no enabled console account of that exact name may decide approvals (admin or supervisor); create one with "airlock console add-admin", or leave --as out to act as ${localApprover().id}`,
    );
  }
  return { ...consoleApprover(account), via: 'cli' };
}

/** True for an id `consoleApprover` or `localApprover` can produce. */
export function isApproverId(id: string): boolean {
  return PRINCIPAL_ID.test(id);
}

/** The principal id of the identity that asked for `record`. */
export function requesterPrincipal(record: Pick<ApprovalRecord, 'identity' | 'spiffeId'>): string {
  return record.spiffeId ? `agent:${record.spiffeId}` : `agent:bearer:${record.identity}`;
}

/**
 * Separation of duties: true when `approver` is the requester of `record` — the same principal, a
 * principal it acts for, or a display name that looks like the requester's identity name.
 */
export function isRequester(
  approver: Approver,
  record: Pick<ApprovalRecord, 'identity' | 'spiffeId'>,
): boolean {
  const requester = requesterPrincipal(record);
  if (approver.id === requester || (approver.actsFor ?? []).includes(requester)) return true;
  return confusableSkeleton(approver.name) === confusableSkeleton(record.identity);
}
