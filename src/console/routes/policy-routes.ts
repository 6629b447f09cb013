/**
 * The Policy page (`GET /policy`): the policy in force, its validation, the last rejected change and
 * the history; `GET /policy/versions/:seq`: one version with its diff against the version before it
 * (or `?against=<seq>`).
 *
 * @example
 * const policy = policyRoutes(deps);
 * app.route('/', policy.app);
 * // on close: policy.close();
 */
import { Hono } from 'hono';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv } from '../console-env.js';
import { renderPolicyBody, renderPolicyVersionBody } from '../policy-page.js';

/** The policy sub-app and the listener removal for `close`. */
export function policyRoutes(deps: ConsoleDeps): { app: Hono<ConsoleEnv>; close(): void } {
  const app = new Hono<ConsoleEnv>();
  const { store, options } = deps;
  let lastRejected: { error: Error; at: number } | undefined;
  const onError = (error: Error) => {
    lastRejected = { error, at: deps.now() };
  };
  const onChange = () => {
    lastRejected = undefined;
  };
  options.policy?.on('error', onError);
  options.policy?.on('change', onChange);

  app.get('/policy', async (c) => {
    const history = await store.policyVersions.listPolicyVersions({ limit: 50 });
    const body = renderPolicyBody({
      current: options.policy?.current,
      currentVersion: options.policy?.version,
      lastRejected,
      history,
    });
    return deps.page(c, 'Policy', 'policy', body);
  });

  app.get('/policy/versions/:seq{[0-9]+}', async (c) => {
    const seq = Number(c.req.param('seq'));
    const version = await store.policyVersions.getPolicyVersion(seq);
    const against = c.req.query('against');
    const base =
      against && /^\d+$/.test(against)
        ? await store.policyVersions.getPolicyVersion(Number(against))
        : version
          ? (await store.policyVersions.listPolicyVersions({ limit: 200 }))
              .filter((v) => v.seq < seq)
              .sort((a, b) => b.seq - a.seq)[0]
          : undefined;
    const body = renderPolicyVersionBody(version, seq, base);
    return deps.page(c, `Policy version ${seq}`, 'policy', body, { status: version ? 200 : 404 });
  });

  return {
    app,
    close() {
      options.policy?.off('error', onError);
      options.policy?.off('change', onChange);
    },
  };
}
