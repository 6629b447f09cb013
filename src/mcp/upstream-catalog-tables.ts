/**
 * The aggregated catalog's tables, rebuilt from each upstream's last lists: tools and prompts under
 * their exposed (namespaced) names, resources by URI, templates in order; on a collision the first
 * upstream keeps the name and the collision is logged (URIs redacted: they may name people).
 *
 * @example
 * const tables = buildCatalogTables(upstreams, snapshots, (u, n) => `${u.name}.${n}`, log);
 */
import {
  type Prompt,
  type Resource,
  type ResourceTemplateType,
  type Tool,
  UriTemplate,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { redactLogText } from '../pii/log-redaction.js';
import type { Upstream } from './upstream.js';

/** Where a namespaced name or URI goes. */
export interface CatalogRoute {
  upstream: Upstream;
  /** The name (or URI) as the upstream knows it. */
  name: string;
}

/** One upstream's lists as last fetched. */
export interface CatalogSnapshot {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
}

export interface CatalogTables {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
  toolRoutes: Map<string, CatalogRoute>;
  promptRoutes: Map<string, CatalogRoute>;
  resourceRoutes: Map<string, Upstream>;
  templateRoutes: { template: UriTemplate; raw: string; upstream: Upstream }[];
}

/**
 * Adds an upstream's tools or prompts under their exposed names; a name another upstream already took
 * is dropped (the first upstream in config order keeps it) and reported through `collided`.
 */
function addNamed<T extends { name: string }>(
  routes: Map<string, CatalogRoute>,
  list: T[],
  items: readonly T[],
  upstream: Upstream,
  exposedName: (upstream: Upstream, name: string) => string,
  collided: (dropped: { exposed: string; kept: string }) => void,
): void {
  for (const item of items) {
    const exposed = exposedName(upstream, item.name);
    const existing = routes.get(exposed);
    if (existing) {
      collided({ exposed, kept: existing.upstream.name });
      continue;
    }
    routes.set(exposed, { upstream, name: item.name });
    list.push({ ...item, name: exposed });
  }
}

export function buildCatalogTables(
  upstreams: readonly Upstream[],
  snapshots: ReadonlyMap<string, CatalogSnapshot>,
  exposedName: (upstream: Upstream, name: string) => string,
  log: Logger,
): CatalogTables {
  const next = emptyCatalogTables();
  for (const upstream of upstreams) {
    const snap = snapshots.get(upstream.name);
    if (!snap) continue;
    addNamed(next.toolRoutes, next.tools, snap.tools, upstream, exposedName, (dropped) =>
      log.warn({ tool: dropped.exposed, kept: dropped.kept, dropped: upstream.name }, 'tool name collision'),
    );
    addNamed(next.promptRoutes, next.prompts, snap.prompts, upstream, exposedName, (dropped) =>
      log.warn(
        { prompt: dropped.exposed, kept: dropped.kept, dropped: upstream.name },
        'prompt name collision',
      ),
    );
    for (const resource of snap.resources) {
      const existing = next.resourceRoutes.get(resource.uri);
      if (existing) {
        log.warn(
          { uri: redactLogText(resource.uri), kept: existing.name, dropped: upstream.name },
          'resource URI collision',
        );
        continue;
      }
      next.resourceRoutes.set(resource.uri, upstream);
      next.resources.push(resource);
    }
    for (const template of snap.resourceTemplates) {
      const existing = next.templateRoutes.find((t) => t.raw === template.uriTemplate);
      if (existing) {
        log.warn(
          { uriTemplate: template.uriTemplate, kept: existing.upstream.name, dropped: upstream.name },
          'template collision',
        );
        continue;
      }
      let parsed: UriTemplate;
      try {
        parsed = new UriTemplate(template.uriTemplate);
      } catch {
        log.warn(
          { uriTemplate: template.uriTemplate, upstream: upstream.name },
          'invalid URI template skipped',
        );
        continue;
      }
      next.templateRoutes.push({ template: parsed, raw: template.uriTemplate, upstream });
      next.resourceTemplates.push(template);
    }
  }
  return next;
}

export function emptyCatalogTables(): CatalogTables {
  return {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    toolRoutes: new Map(),
    promptRoutes: new Map(),
    resourceRoutes: new Map(),
    templateRoutes: [],
  };
}

/** Which aggregated lists differ between two tables (each gets one `list_changed`). */
export function changedLists(
  previous: CatalogTables,
  next: CatalogTables,
): ('tools' | 'prompts' | 'resources')[] {
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  const changed: ('tools' | 'prompts' | 'resources')[] = [];
  if (differs(previous.tools, next.tools)) changed.push('tools');
  if (differs(previous.prompts, next.prompts)) changed.push('prompts');
  if (
    differs(previous.resources, next.resources) ||
    differs(previous.resourceTemplates, next.resourceTemplates)
  )
    changed.push('resources');
  return changed;
}
