/**
 * The Catalog pages: `GET /catalog` (servers and tools with description, tier, pin state and risk),
 * `GET /catalog/tools/:tool` (definition review and history), and the admin actions
 * `POST /catalog/tools/:tool/disable|enable|approve` (kill switch and re-approval, audited).
 *
 * @example
 * app.route('/', catalogRoutes(deps));
 */
import { Hono } from 'hono';
import type { AdminAuditEvent } from '../../audit/audit-entry.js';
import { CatalogAdmin } from '../../catalog/catalog-admin.js';
import { AirlockError } from '../../errors/airlock-error.js';
import { prettyCanonical } from '../../json/canonical-json.js';
import { toolFacts } from '../approval-facts.js';
import { renderCatalogBody, renderToolBody } from '../catalog-page.js';
import type { ConsoleDeps } from '../console-deps.js';
import type { ConsoleEnv, Ctx } from '../console-env.js';
import { isAdmin } from '../console-layout.js';
import { formField, respondError } from '../console-responses.js';

/** Longest kill-switch reason kept. */
export const MAX_KILL_SWITCH_REASON_LENGTH = 500;

/** The catalog sub-app. */
export function catalogRoutes(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const { store, options } = deps;
  const admin = (actor: string) =>
    new CatalogAdmin({
      store: store.catalog,
      actor,
      now: deps.now,
      ...(options.onCatalogChange ? { onChange: options.onCatalogChange } : {}),
    });

  app.get('/catalog', async (c) => {
    const viewer = c.get('viewer');
    const [entries, status] = await Promise.all([admin(viewer.name).listCatalog(), options.status()]);
    const facts = new Map(
      await Promise.all(entries.map(async (e) => [e.tool, await toolFacts(e.tool, store.catalog)] as const)),
    );
    const engine = options.policy?.engine;
    const body = renderCatalogBody({
      entries,
      facts,
      servers: status.upstreams,
      tierOf: engine ? (tool) => engine.tierFor(tool) : undefined,
      viewer,
    });
    return deps.page(c, 'Catalog', 'catalog', body, { tenantHost: status.tenantHost });
  });

  app.get('/catalog/tools/:tool', async (c) => {
    const viewer = c.get('viewer');
    const tool = c.req.param('tool');
    const a = admin(viewer.name);
    const diff = await a.diff(tool).catch((err: unknown) => {
      if (err instanceof AirlockError) return undefined;
      throw err;
    });
    const entry = (await a.listCatalog()).find((e) => e.tool === tool);
    const events = await a.events({ tool, limit: 50 });
    const pin = await store.catalog.getToolPin(tool);
    const pinnedDefinition = pin?.approvedDefinition
      ? prettyCanonical(JSON.parse(pin.approvedDefinition))
      : undefined;
    const facts = await toolFacts(tool, store.catalog);
    const body = renderToolBody({
      tool,
      diff,
      entry,
      events,
      viewer,
      facts,
      ...(pinnedDefinition ? { pinnedDefinition } : {}),
    });
    return deps.page(c, `Tool ${tool}`, 'catalog', body, { status: diff || entry ? 200 : 404 });
  });

  app.post('/catalog/tools/:tool/:action{disable|enable|approve}', async (c) => {
    const viewer = c.get('viewer');
    if (!isAdmin(viewer))
      return respondError(
        c,
        403,
        'AIRLOCK_CONSOLE_FORBIDDEN',
        `Your role (${viewer.role}) may not change the catalog.`,
      );
    const tool = c.req.param('tool');
    const action = c.req.param('action') as 'disable' | 'enable' | 'approve';
    try {
      await deps.auditAdmin(await applyAction(c, admin(viewer.name), tool, action));
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      return respondError(c, 409, err.code, err.message);
    }
    if ((c.req.header('accept') ?? '').includes('application/json')) return c.json({ ok: true });
    return c.redirect(action === 'approve' ? `/catalog/tools/${encodeURIComponent(tool)}` : '/catalog', 303);
  });

  return app;
}

/** Runs one catalog action as the signed-in account; returns the audit event to append. */
async function applyAction(
  c: Ctx,
  admin: CatalogAdmin,
  tool: string,
  action: 'disable' | 'enable' | 'approve',
): Promise<AdminAuditEvent> {
  const by = c.get('viewer').name;
  const actor = `console:${by}`;
  if (action === 'disable') {
    const reason = ((await formField(c, 'reason')) ?? '').slice(0, MAX_KILL_SWITCH_REASON_LENGTH);
    const record = await admin.disable(tool, reason, { by });
    return { kind: 'admin', action: 'killswitch.enable', actor, target: tool, reason: record.reason };
  }
  if (action === 'enable') {
    await admin.enable(tool, { by });
    return { kind: 'admin', action: 'killswitch.disable', actor, target: tool };
  }
  const hash = await formField(c, 'hash');
  const pin = await admin.approve(tool, { by, ...(hash ? { hash } : {}) });
  return { kind: 'admin', action: 'tool.reapprove', actor, target: tool, detail: { hash: pin.approvedHash } };
}
