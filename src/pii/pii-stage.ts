/**
 * The gateway's `pii` stage (pipeline step 3, before authorization): de-tokenizes the arguments of `tools/call` and
 * `prompts/get` (and the URI of `resources/read`) before `next`, so the upstream works with real
 * values, then redacts the result (and any error message) after it, so raw personal data never leaves
 * the connector. A token from another tenant is refused with -32602; a result holding a class whose
 * action is `block` is withheld with -32603 `AIRLOCK_PII_BLOCKED`. Its decision on `ctx.decisions`
 * carries counts per class and action, never values. Other methods pass through untouched.
 *
 * @example
 * const vault = new PiiVault({ tenant: 'acme', keys: await loadTenantPiiKeys({ path, tenant: 'acme', create: true }), repository: store.vault });
 * const stages = [authenticate({ identities: store.identities }), piiStage({ vault, policy: { tools: [{ match: 'erp.get_*', actions: { CARD: 'mask' } }] } })];
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { WireError } from '../errors/wire-error.js';
import { recordDecision } from '../gateway/decision-channel.js';
import type { GatewayContext, Stage } from '../gateway/gateway-context.js';
import { detokenizeArguments } from './detokenize.js';
import { blockedResultError, PII_ERROR_CODES } from './pii-errors.js';
import { CompiledPiiPolicy, compilePiiPolicy, type PiiPolicy } from './pii-policy.js';
import { PiiRedactor, RedactionReport } from './pii-redactor.js';
import { PiiScanner } from './pii-scanner.js';
import type { PiiVault } from './pii-vault.js';

/** Name of the stage in decisions. */
export const PII_STAGE = 'pii';
/** Methods whose requests are de-tokenized and whose results are redacted. */
export const PII_METHODS = ['tools/call', 'resources/read', 'prompts/get'] as const;

export interface PiiStageOptions {
  /** This tenant's vault. */
  vault: PiiVault;
  /** The `pii:` policy section, or an already compiled one (default: `DEFAULT_PII_ACTIONS`). */
  policy?: PiiPolicy | CompiledPiiPolicy;
  /** Scanner to use (default: one built from the policy's patterns, phone regions and disabled detectors). */
  scanner?: PiiScanner;
}

export function piiStage(options: PiiStageOptions): Stage {
  const policy =
    options.policy instanceof CompiledPiiPolicy ? options.policy : compilePiiPolicy(options.policy ?? {});
  const scanner =
    options.scanner ??
    new PiiScanner({
      patterns: policy.patterns,
      phoneRegions: policy.source.phoneRegions as CountryCode[] | undefined,
      disable: policy.source.disable,
    });
  const redactor = new PiiRedactor({ scanner, vault: options.vault, policy });
  const methods = new Set<string>(PII_METHODS);

  return (next) => async (ctx) => {
    if (!methods.has(ctx.method)) return next(ctx);
    const target = targetOf(ctx);
    const detokenized = new Map<string, number>();
    try {
      if (ctx.method === 'resources/read') {
        if (typeof ctx.params.uri === 'string') {
          ctx.params = {
            ...ctx.params,
            uri: await detokenizeArguments(options.vault, ctx.params.uri, detokenized),
          };
        }
      } else if (ctx.params.arguments !== undefined) {
        ctx.params = {
          ...ctx.params,
          arguments: await detokenizeArguments(options.vault, ctx.params.arguments, detokenized),
        };
      }
    } catch (err) {
      // Only an unknown token is the agent's fault; a vault or store failure is recorded as what it is.
      const unknownToken = err instanceof WireError && err.airlockCode === PII_ERROR_CODES.unknownToken;
      recordDecision(ctx, {
        stage: PII_STAGE,
        outcome: 'deny',
        code: unknownToken ? PII_ERROR_CODES.unknownToken : 'AIRLOCK_PII_UNAVAILABLE',
        reason: unknownToken
          ? 'the arguments carry a token this tenant never issued'
          : `the PII vault could not be read: ${err instanceof Error ? err.message : String(err)}`,
      });
      throw err;
    }

    const report = new RedactionReport();
    let result: unknown;
    try {
      result = await next(ctx);
    } catch (err) {
      const redacted = await redactor.redactError(err, target, report);
      if (report.modified || detokenized.size > 0) {
        recordDecision(ctx, { stage: PII_STAGE, outcome: 'modify', detail: detail(detokenized, report) });
      }
      throw redacted;
    }
    const safe = await redactor.redactResult(ctx.method, result, target, report);
    if (report.blocked.size > 0) {
      const classes = [...report.blocked].sort();
      recordDecision(ctx, {
        stage: PII_STAGE,
        outcome: 'deny',
        code: PII_ERROR_CODES.blocked,
        reason: `the result contains ${classes.join(', ')}, which policy blocks`,
        detail: detail(detokenized, report),
      });
      throw blockedResultError(classes);
    }
    recordDecision(ctx, {
      stage: PII_STAGE,
      outcome: report.modified || detokenized.size > 0 ? 'modify' : 'allow',
      detail: detail(detokenized, report),
    });
    return safe;
  };
}

function targetOf(ctx: GatewayContext): string | undefined {
  const key = ctx.method === 'resources/read' ? 'uri' : 'name';
  const value = ctx.params[key];
  return typeof value === 'string' ? value : undefined;
}

function detail(detokenized: Map<string, number>, report: RedactionReport): Record<string, unknown> {
  return { detokenized: Object.fromEntries(detokenized), redacted: report.toJSON() };
}
