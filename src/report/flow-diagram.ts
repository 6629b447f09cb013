/**
 * The data-flow diagram of a report, drawn here as inline SVG (no external service, no script):
 * agents on the left, the tools they called in the middle, the upstreams that serve them on the
 * right. Each tool says how often it was called, how many calls were refused and which PII classes
 * were tokenized on the way back to the agent; edges that carried PII are highlighted, and each edge
 * names its counts in a tooltip. Tool–upstream edges stay inside the connector's network.
 *
 * @example
 * const svg = renderFlowDiagram(report.activity.flows); // '<svg role="img" …>…</svg>'
 */
import { html } from 'hono/html';
import type { ToolActivity } from './report-model.js';

/** Geometry of the diagram (px). */
export const FLOW_DIAGRAM_LAYOUT = Object.freeze({
  width: 1160,
  rowHeight: 58,
  nodeHeight: 40,
  top: 40,
  columns: { agent: { x: 10, w: 230 }, tool: { x: 440, w: 290 }, upstream: { x: 920, w: 230 } },
});

type Html = ReturnType<typeof html>;

function piiLabel(pii: Record<string, number>): string {
  return Object.entries(pii)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cls, n]) => `${cls}×${n}`)
    .join(' ');
}

function rowsOf(values: string[]): Map<string, number> {
  return new Map([...new Set(values)].sort().map((v, i) => [v, i]));
}

function node(
  col: { x: number; w: number },
  row: number,
  rowsTotal: number,
  text: string,
  cls: string,
  height: number,
  detail = '',
): Html {
  const L = FLOW_DIAGRAM_LAYOUT;
  const y = centre(row, rowsTotal, height) - L.nodeHeight / 2;
  const label = text.length > 34 ? `${text.slice(0, 33)}…` : text;
  const textY = detail ? y + 17 : y + 25;
  return html`<g class="node ${cls}"><rect x="${col.x}" y="${y}" width="${col.w}" height="${L.nodeHeight}" rx="8"></rect><text x="${col.x + 12}" y="${textY}">${label}</text>${detail ? html`<text class="detail" x="${col.x + 12}" y="${y + 32}">${detail}</text>` : ''}<title>${text}${detail ? ` — ${detail}` : ''}</title></g>`;
}

function centre(row: number, rowsTotal: number, height: number): number {
  const L = FLOW_DIAGRAM_LAYOUT;
  const used = rowsTotal * L.rowHeight;
  return L.top + (height - L.top - used) / 2 + row * L.rowHeight + L.rowHeight / 2;
}

function edge(x1: number, y1: number, x2: number, y2: number, cls: string, title: string): Html {
  const mx = (x1 + x2) / 2;
  const d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
  return html`<g class="edge ${cls}"><path d="${d}"></path><title>${title}</title></g>`;
}

/** `3 calls · 1 refused · EMAIL×2` for one tool, over every agent. */
function toolDetail(flows: readonly ToolActivity[]): string {
  const calls = flows.reduce((n, f) => n + f.calls, 0);
  const refused = flows.reduce((n, f) => n + f.denied + f.errors, 0);
  const pii: Record<string, number> = {};
  for (const f of flows) for (const [cls, n] of Object.entries(f.pii)) pii[cls] = (pii[cls] ?? 0) + n;
  const label = piiLabel(pii);
  return [
    `${calls} call${calls === 1 ? '' : 's'}`,
    refused ? `${refused} refused` : '',
    label ? `${label} tokenized` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

/**
 * The diagram for the flows of a report. An empty period gives a small diagram saying so.
 */
export function renderFlowDiagram(flows: readonly ToolActivity[]): Html {
  const L = FLOW_DIAGRAM_LAYOUT;
  const agents = rowsOf(flows.map((f) => f.agent));
  const tools = rowsOf(flows.map((f) => f.tool));
  const upstreams = rowsOf(flows.map((f) => f.upstream ?? '(unknown upstream)'));
  const rows = Math.max(agents.size, tools.size, upstreams.size, 1);
  const height = L.top + rows * L.rowHeight + 20;
  const { agent: A, tool: T, upstream: U } = L.columns;
  if (flows.length === 0) {
    return html`<svg class="flow" role="img" aria-label="No tool calls in this period" viewBox="0 0 ${L.width} 80" width="${L.width}" height="80"><text x="20" y="45">No tool calls in this period.</text></svg>`;
  }
  const edges: Html[] = [];
  const toolToUpstream = new Map<string, { tool: string; upstream: string; pii: Record<string, number> }>();
  for (const f of flows) {
    const ay = centre(agents.get(f.agent) ?? 0, agents.size, height);
    const ty = centre(tools.get(f.tool) ?? 0, tools.size, height);
    const pii = piiLabel(f.pii);
    const refused = f.denied + f.errors;
    const what = `${f.calls} call${f.calls === 1 ? '' : 's'}${refused ? `, ${refused} refused` : ''}${pii ? `; ${pii} tokenized` : ''}`;
    edges.push(edge(A.x + A.w, ay, T.x, ty, pii ? 'pii' : 'plain', `${f.agent} → ${f.tool}: ${what}`));
    const upstream = f.upstream ?? '(unknown upstream)';
    const key = `${f.tool}\u0000${upstream}`;
    const link = toolToUpstream.get(key) ?? { tool: f.tool, upstream, pii: {} };
    for (const [cls, n] of Object.entries(f.pii)) link.pii[cls] = (link.pii[cls] ?? 0) + n;
    toolToUpstream.set(key, link);
  }
  for (const link of toolToUpstream.values()) {
    const ty = centre(tools.get(link.tool) ?? 0, tools.size, height);
    const uy = centre(upstreams.get(link.upstream) ?? 0, upstreams.size, height);
    const pii = piiLabel(link.pii);
    edges.push(
      edge(
        T.x + T.w,
        ty,
        U.x,
        uy,
        pii ? 'pii inside' : 'inside',
        `${link.tool} → ${link.upstream}: inside the connector's network${pii ? ` (${pii} in clear here, tokenized towards the agent)` : ''}`,
      ),
    );
  }
  const nodes = [
    ...[...agents].map(([name, row]) => node(A, row, agents.size, name, 'agent', height)),
    ...[...tools].map(([name, row]) =>
      node(T, row, tools.size, name, 'tool', height, toolDetail(flows.filter((f) => f.tool === name))),
    ),
    ...[...upstreams].map(([name, row]) => node(U, row, upstreams.size, name, 'upstream', height)),
  ];
  return html`<svg class="flow" role="img" aria-label="Data flow: agents, tools, upstreams and the PII classes that crossed" viewBox="0 0 ${L.width} ${height}" width="${L.width}" height="${height}">
<text class="col" x="${A.x}" y="22">Agents (outside, via the relay)</text><text class="col" x="${T.x}" y="22">Tools (the connector's gateway)</text><text class="col" x="${U.x}" y="22">Upstreams (private network)</text>
<line class="boundary" x1="${T.x - 40}" y1="30" x2="${T.x - 40}" y2="${height - 4}"></line>
${edges}${nodes}</svg>`;
}
