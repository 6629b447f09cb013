/**
 * Stage 4 of the gateway: the identity's roles decide what it may see and use (policy `roles`).
 *
 * - `tools/call` of a tool no role allows → -32003 `AIRLOCK_TOOL_FORBIDDEN` naming the tool.
 * - `prompts/get` → `AIRLOCK_PROMPT_FORBIDDEN`; `resources/read` → `AIRLOCK_RESOURCE_FORBIDDEN`;
 *   `completion/complete` follows the prompt / resource it references.
 * - `tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`: the upstream result is
 *   FILTERED so forbidden items are absent (tools in the `block` tier too: nobody may call them) (a resource template is listed when a resource glob matches
 *   its `uriTemplate` text, e.g. `fixture://items/**` matches `fixture://items/{id}`).
 * - Any other method passes through unchanged.
 *
 * Secure defaults: an identity no policy entry names has no roles and sees nothing; a request without an
 * identity is refused (-32001). The policy is read per request (`policy()`), so a hot reload applies to
 * the next request. Refusals never reveal whether the forbidden item exists.
 *
 * @example
 * const stage = authorize({ policy: () => watcher.engine });
 */
import { WireError } from '../../errors/wire-error.js';
import type { PolicyEngine, PolicySubject } from '../../policy/policy-engine.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, Stage } from '../gateway-context.js';
import { type PolicySource, requestedName, requireIdentity } from '../policy-source.js';
import { policySubject } from '../policy-subject.js';
import { JSONRPC_FORBIDDEN } from '../refusal-codes.js';

/** Stage name in decisions. */
export const AUTHORIZE_STAGE = 'authorize';

export interface AuthorizeOptions {
  /** The policy in force, read on every request. Usually `() => watcher.engine`. */
  policy: PolicySource;
}

type ListKey = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

const LISTS: Record<
  string,
  { key: ListKey; allowed: (e: PolicyEngine, s: PolicySubject, item: Record<string, unknown>) => boolean }
> = {
  // A tool whose tier is `block` can never be called, so it is not listed either.
  'tools/list': {
    key: 'tools',
    allowed: (e, s, item) => e.canCall(s, String(item.name)) && e.tierFor(String(item.name)) !== 'block',
  },
  'prompts/list': { key: 'prompts', allowed: (e, s, item) => e.canGetPrompt(s, String(item.name)) },
  'resources/list': { key: 'resources', allowed: (e, s, item) => e.canReadResource(s, String(item.uri)) },
  'resources/templates/list': {
    key: 'resourceTemplates',
    allowed: (e, s, item) => e.canReadResource(s, String(item.uriTemplate)),
  },
};

/**
 * See the module comment.
 *
 * @example
 * compose([authenticate({ identities }), authorize({ policy: () => engine })], terminal);
 */
export function authorize(options: AuthorizeOptions): Stage {
  return (next) => async (ctx) => {
    const identity = requireIdentity(ctx, AUTHORIZE_STAGE);
    const engine = options.policy();
    const subject = policySubject(identity);
    switch (ctx.method) {
      case 'tools/call': {
        const tool = requestedName(ctx);
        if (!engine.canCall(subject, tool)) {
          throw forbidden(
            ctx,
            'AIRLOCK_TOOL_FORBIDDEN',
            `Tool '${tool}' is not allowed for identity '${identity.name}'`,
            { tool },
          );
        }
        recordDecision(ctx, { stage: AUTHORIZE_STAGE, outcome: 'allow', detail: { tool } });
        return next(ctx);
      }
      case 'prompts/get':
        checkPrompt(ctx, engine, subject, requestedName(ctx), identity.name);
        return next(ctx);
      case 'resources/read':
      case 'resources/subscribe':
        checkResource(ctx, engine, subject, String(ctx.params.uri ?? ''), identity.name);
        return next(ctx);
      case 'subscriptions/listen': {
        const uris = ctx.params.resourceSubscriptions;
        for (const uri of Array.isArray(uris) ? uris : []) {
          checkResource(ctx, engine, subject, String(uri), identity.name);
        }
        return next(ctx);
      }
      case 'completion/complete': {
        const ref = (ctx.params.ref ?? {}) as Record<string, unknown>;
        if (ref.type === 'ref/prompt')
          checkPrompt(ctx, engine, subject, String(ref.name ?? ''), identity.name);
        else if (ref.type === 'ref/resource')
          checkResource(ctx, engine, subject, String(ref.uri ?? ''), identity.name);
        else
          throw forbidden(
            ctx,
            'AIRLOCK_COMPLETION_FORBIDDEN',
            'Completion reference is neither a prompt nor a resource',
            {},
          );
        return next(ctx);
      }
      default: {
        const list = LISTS[ctx.method];
        if (!list) return next(ctx);
        const result = (await next(ctx)) as Record<string, unknown>;
        const items = result[list.key];
        if (!Array.isArray(items)) return result;
        const kept = (items as Record<string, unknown>[]).filter((item) =>
          list.allowed(engine, subject, item),
        );
        recordDecision(ctx, {
          stage: AUTHORIZE_STAGE,
          outcome: kept.length === items.length ? 'allow' : 'modify',
          detail: { listed: kept.length, hidden: items.length - kept.length },
        });
        return kept.length === items.length ? result : { ...result, [list.key]: kept };
      }
    }
  };
}

function checkPrompt(
  ctx: GatewayContext,
  engine: PolicyEngine,
  subject: PolicySubject,
  prompt: string,
  who: string,
): void {
  if (!engine.canGetPrompt(subject, prompt)) {
    throw forbidden(
      ctx,
      'AIRLOCK_PROMPT_FORBIDDEN',
      `Prompt '${prompt}' is not allowed for identity '${who}'`,
      { prompt },
    );
  }
  recordDecision(ctx, { stage: AUTHORIZE_STAGE, outcome: 'allow', detail: { prompt } });
}

function checkResource(
  ctx: GatewayContext,
  engine: PolicyEngine,
  subject: PolicySubject,
  uri: string,
  who: string,
): void {
  if (!engine.canReadResource(subject, uri)) {
    throw forbidden(
      ctx,
      'AIRLOCK_RESOURCE_FORBIDDEN',
      `Resource '${uri}' is not allowed for identity '${who}'`,
      { uri },
    );
  }
  recordDecision(ctx, { stage: AUTHORIZE_STAGE, outcome: 'allow', detail: { uri } });
}

function forbidden(
  ctx: GatewayContext,
  code: string,
  message: string,
  data: Record<string, unknown>,
): WireError {
  recordDecision(ctx, { stage: AUTHORIZE_STAGE, outcome: 'deny', code, reason: message });
  return new WireError(JSONRPC_FORBIDDEN, code, message, data);
}
