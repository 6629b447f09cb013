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
import type { WireError } from '../../errors/wire-error.js';
import type { PolicyEngine, PolicySubject } from '../../policy/policy-engine.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, Stage } from '../gateway-context.js';
import { type PolicySource, requestedName, requireIdentity } from '../policy-source.js';
import { policySubject } from '../policy-subject.js';
import { JSONRPC_FORBIDDEN } from '../refusal-codes.js';
import { refuseAt } from '../stage-refusal.js';

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
      case 'tools/call':
        check(ctx, engine, subject, 'tool', requestedName(ctx), identity.name);
        return next(ctx);
      case 'prompts/get':
        check(ctx, engine, subject, 'prompt', requestedName(ctx), identity.name);
        return next(ctx);
      case 'resources/read':
      case 'resources/subscribe':
        check(ctx, engine, subject, 'uri', String(ctx.params.uri ?? ''), identity.name);
        return next(ctx);
      case 'subscriptions/listen': {
        const uris = ctx.params.resourceSubscriptions;
        for (const uri of Array.isArray(uris) ? uris : []) {
          check(ctx, engine, subject, 'uri', String(uri), identity.name);
        }
        return next(ctx);
      }
      case 'completion/complete': {
        const ref = (ctx.params.ref ?? {}) as Record<string, unknown>;
        if (ref.type === 'ref/prompt')
          check(ctx, engine, subject, 'prompt', String(ref.name ?? ''), identity.name);
        else if (ref.type === 'ref/resource')
          check(ctx, engine, subject, 'uri', String(ref.uri ?? ''), identity.name);
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

/** What an agent may ask for by name, how the policy decides it, and how a refusal names it. */
const TARGETS = {
  tool: {
    code: 'AIRLOCK_TOOL_FORBIDDEN',
    noun: 'Tool',
    allowed: (e: PolicyEngine, s: PolicySubject, v: string) => e.canCall(s, v),
  },
  prompt: {
    code: 'AIRLOCK_PROMPT_FORBIDDEN',
    noun: 'Prompt',
    allowed: (e: PolicyEngine, s: PolicySubject, v: string) => e.canGetPrompt(s, v),
  },
  uri: {
    code: 'AIRLOCK_RESOURCE_FORBIDDEN',
    noun: 'Resource',
    allowed: (e: PolicyEngine, s: PolicySubject, v: string) => e.canReadResource(s, v),
  },
} as const;

/** Allows (records) or refuses one tool, prompt or resource for `who`. */
function check(
  ctx: GatewayContext,
  engine: PolicyEngine,
  subject: PolicySubject,
  kind: keyof typeof TARGETS,
  value: string,
  who: string,
): void {
  const target = TARGETS[kind];
  if (!target.allowed(engine, subject, value)) {
    throw forbidden(ctx, target.code, `${target.noun} '${value}' is not allowed for identity '${who}'`, {
      [kind]: value,
    });
  }
  recordDecision(ctx, { stage: AUTHORIZE_STAGE, outcome: 'allow', detail: { [kind]: value } });
}

function forbidden(
  ctx: GatewayContext,
  code: string,
  message: string,
  data: Record<string, unknown>,
): WireError {
  return refuseAt(ctx, AUTHORIZE_STAGE, { rpcCode: JSONRPC_FORBIDDEN, code, message, data });
}
