/**
 * The ERP's own check of supervisor approvals: with a gate configured, its write tools
 * (`adjust_invoice_status`, `update_stock`, `delete_customer` by default — the ones a policy puts in the
 * `approve` tier) run only with a valid Airlock approval token for exactly the call's tool and
 * arguments (src/approvals/approval-token-verify.ts), read from `_meta["airlock/approval"]`. Without a
 * gate (the default) the ERP trusts its caller, as before.
 *
 *   node dist/samples/erp/server.js --db erp.sqlite \
 *     --approval-jwks https://connector.acme.internal:8443/.well-known/jwks.json \
 *     --approval-issuer https://acme.relay.example [--approval-tool-prefix erp.]
 *
 * `--approval-jwks` takes a URL (fetched and cached by jose) or a file holding the JWKS document.
 *
 * @example
 * const gate = createApprovalGate({ keys: jwks, issuer: 'https://acme.relay.example' });
 * createErpServer(db, { approvals: gate });
 */
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import {
  ApprovalTokenError,
  approvalTokenFromMeta,
  verifyApprovalToken,
} from '../../src/approvals/approval-token-verify.js';

/** The ERP tools that need an approval token when a gate is configured. */
export const DEFAULT_GUARDED_TOOLS = ['adjust_invoice_status', 'update_stock', 'delete_customer'] as const;
/** How the connector names the ERP's tools (its upstream name and the namespace separator). */
export const DEFAULT_TOOL_PREFIX = 'erp.';

export interface ApprovalGateOptions {
  keys: JSONWebKeySet | JWTVerifyGetKey;
  issuer: string;
  /** Default {@link DEFAULT_TOOL_PREFIX}. */
  toolPrefix?: string;
  /** Default {@link DEFAULT_GUARDED_TOOLS}. */
  tools?: readonly string[];
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Decides whether a guarded tool call may run. */
export interface ErpApprovalGate {
  /** Undefined when the call may run, else the refusal text for the caller. */
  refusal(tool: string, args: Record<string, unknown>, meta: unknown): Promise<string | undefined>;
}

/** A gate over `options.tools`. */
export function createApprovalGate(options: ApprovalGateOptions): ErpApprovalGate {
  const guarded = new Set(options.tools ?? DEFAULT_GUARDED_TOOLS);
  const prefix = options.toolPrefix ?? DEFAULT_TOOL_PREFIX;
  return {
    async refusal(tool, args, meta) {
      if (!guarded.has(tool)) return undefined;
      try {
        await verifyApprovalToken(approvalTokenFromMeta(meta), {
          keys: options.keys,
          issuer: options.issuer,
          tool: `${prefix}${tool}`,
          arguments: args,
          ...(options.now ? { now: options.now } : {}),
        });
        return undefined;
      } catch (err) {
        if (!(err instanceof ApprovalTokenError)) throw err;
        return `Refused by the ERP: ${err.message} (${err.reason}). This change needs a supervisor's approval through Airlock for exactly these arguments.`;
      }
    },
  };
}

/** The gate the command line asks for, or undefined without `--approval-jwks`. */
export function approvalGateFromArgs(values: {
  'approval-jwks'?: string;
  'approval-issuer'?: string;
  'approval-tool-prefix'?: string;
}): ErpApprovalGate | undefined {
  const source = values['approval-jwks'];
  if (source === undefined) return undefined;
  const issuer = values['approval-issuer'];
  if (!issuer)
    throw new Error('--approval-jwks needs --approval-issuer (the connector issuer, e.g. its tenant URL)');
  const keys = /^https?:\/\//.test(source)
    ? createRemoteJWKSet(new URL(source))
    : (JSON.parse(readFileSync(source, 'utf8')) as JSONWebKeySet);
  return createApprovalGate({
    keys,
    issuer,
    ...(values['approval-tool-prefix'] !== undefined ? { toolPrefix: values['approval-tool-prefix'] } : {}),
  });
}
