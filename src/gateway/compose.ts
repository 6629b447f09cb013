import type { Handler, Stage } from './gateway-context.js';

/**
 * Composes stages around a terminal handler, undici-interceptor style: `stages[0]` runs first (outermost)
 * and the terminal runs last. Each stage decides whether and how to call `next`.
 *
 * @example
 * const handler = compose([authenticate({ identities }), logTiming], (ctx) => catalog.route(ctx));
 * const result = await handler(ctx);
 */
export function compose(stages: readonly Stage[], terminal: Handler): Handler {
  let handler = terminal;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (stage) handler = stage(handler);
  }
  return handler;
}
