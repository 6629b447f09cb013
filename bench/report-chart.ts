/**
 * The summary chart (SVG written by hand, no browser or plotting library): one panel per measure,
 * one row per path. Latency panels draw a box from p25 to p75, a tick at p50 and a whisker to p99;
 * rate panels draw a bar at the median.
 */
import type { PathId } from './bench-paths.js';
import type { BenchResults } from './bench-results.js';
import type { Summary } from './sample-stats.js';

const WIDTH = 820;
const LABEL_W = 130;
const VALUE_W = 150;
const ROW_H = 22;
const PANEL_HEAD = 34;
const PANEL_FOOT = 26;

const COLORS: Record<PathId, string> = {
  'direct-http': '#7f8c8d',
  'direct-tls': '#95a5a6',
  'airlock-full': '#1f6feb',
  'airlock-tunnel': '#58a6ff',
  'ssh-R': '#d29922',
  'mcp-proxy': '#8957e5',
};

type Row = { id: PathId; box?: Summary; bar?: number; label: string };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An axis: a round step (1, 2, 2.5 or 5 × 10^k) and the first multiple of it at or above `v`. */
function niceAxis(v: number): { max: number; step: number } {
  if (!(v > 0)) return { max: 1, step: 0.25 };
  const raw = v / 4;
  const exp = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * exp >= raw) ?? 10) * exp;
  return { max: Math.ceil(v / step - 1e-9) * step, step };
}

function panel(title: string, unit: string, rows: Row[], y0: number): { svg: string; height: number } {
  const plotW = WIDTH - LABEL_W - VALUE_W - 20;
  const { max, step } = niceAxis(Math.max(...rows.map((r) => (r.box ? r.box.p99 : (r.bar ?? 0)))) * 1.02);
  const x = (v: number): number => LABEL_W + (Math.min(v, max) / max) * plotW;
  const height = PANEL_HEAD + rows.length * ROW_H + PANEL_FOOT;
  const out: string[] = [];
  out.push(`<text x="10" y="${y0 + 20}" class="title">${esc(title)}</text>`);
  const top = y0 + PANEL_HEAD;
  const bottom = top + rows.length * ROW_H;
  for (let i = 0; i * step <= max + 1e-9; i++) {
    const v = i * step;
    const gx = x(v);
    out.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${bottom}" class="grid"/>`);
    out.push(`<text x="${gx}" y="${bottom + 15}" class="axis" text-anchor="middle">${fmtAxis(v)}</text>`);
  }
  out.push(`<text x="${LABEL_W + plotW}" y="${y0 + 20}" class="axis" text-anchor="end">${esc(unit)}</text>`);
  rows.forEach((r, i) => {
    const cy = top + i * ROW_H + ROW_H / 2;
    const color = COLORS[r.id];
    out.push(`<text x="${LABEL_W - 8}" y="${cy + 4}" class="label" text-anchor="end">${esc(r.id)}</text>`);
    if (r.box) {
      const b = r.box;
      out.push(
        `<line x1="${x(b.p75)}" y1="${cy}" x2="${x(b.p99)}" y2="${cy}" stroke="${color}" stroke-width="1.5"/>`,
      );
      out.push(
        `<line x1="${x(b.p99)}" y1="${cy - 5}" x2="${x(b.p99)}" y2="${cy + 5}" stroke="${color}" stroke-width="1.5"/>`,
      );
      out.push(
        `<rect x="${x(b.p25)}" y="${cy - 7}" width="${Math.max(1.5, x(b.p75) - x(b.p25))}" height="14" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`,
      );
      out.push(
        `<line x1="${x(b.p50)}" y1="${cy - 8}" x2="${x(b.p50)}" y2="${cy + 8}" stroke="${color}" stroke-width="3"/>`,
      );
    } else if (r.bar !== undefined) {
      out.push(
        `<rect x="${LABEL_W}" y="${cy - 7}" width="${Math.max(1, x(r.bar) - LABEL_W)}" height="14" fill="${color}"/>`,
      );
    }
    out.push(`<text x="${LABEL_W + plotW + 10}" y="${cy + 4}" class="value">${esc(r.label)}</text>`);
  });
  return { svg: out.join('\n'), height };
}

function fmtAxis(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k`;
  if (v >= 10) return v.toFixed(0);
  return v.toFixed(v === 0 ? 0 : 1);
}

const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** Renders the run as one SVG document. */
export function renderChartSvg(r: BenchResults): string {
  const ids = r.paths.filter((p) => !p.skipped).map((p) => p.id);
  const c = r.meta.settings.concurrency;
  const panels: Array<{ title: string; unit: string; rows: Row[] }> = [];
  const boxRows = (data: Partial<Record<PathId, { summary: Summary }>>): Row[] =>
    ids.flatMap((id) => {
      const m = data[id];
      return m ? [{ id, box: m.summary, label: `p50 ${f(m.summary.p50)} · p99 ${f(m.summary.p99)}` }] : [];
    });
  panels.push({ title: 'Tool-call latency, concurrency 1', unit: 'ms', rows: boxRows(r.latencyC1) });
  panels.push({
    title: `Tool-call latency, concurrency ${c}`,
    unit: 'ms',
    rows: boxRows(r.latencyConcurrent),
  });
  panels.push({
    title: `Tool calls per second, ${c} callers`,
    unit: 'calls/s',
    rows: ids.flatMap((id) => {
      const m = r.latencyConcurrent[id];
      return m
        ? [{ id, bar: m.callsPerSecond, label: `${Math.round(m.callsPerSecond).toLocaleString('en-US')}/s` }]
        : [];
    }),
  });
  panels.push({
    title: `${r.meta.settings.blobMib} MiB tool result`,
    unit: 'MB/s',
    rows: ids.flatMap((id) => {
      const m = r.blob[id];
      return m ? [{ id, bar: m.mbPerSecond.p50, label: `${f(m.mbPerSecond.p50, 0)} MB/s` }] : [];
    }),
  });
  panels.push({ title: 'Time to a first tool call (new agent)', unit: 'ms', rows: boxRows(r.firstCall) });

  let y = 40;
  const body: string[] = [];
  for (const p of panels) {
    if (p.rows.length === 0) continue;
    const { svg, height } = panel(p.title, p.unit, p.rows, y);
    body.push(svg);
    y += height + 8;
  }
  const m = r.meta.machine;
  const header =
    `Airlock benchmark (${r.meta.settings.mode}) · ${m.nproc} CPUs, Node ${m.node} · ` +
    `${r.meta.startedAt.slice(0, 16).replace('T', ' ')} UTC · box p25–p75, tick p50, whisker p99`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" font-family="Helvetica, Arial, sans-serif">
<style>
.title { font-size: 14px; font-weight: bold; fill: #24292f; }
.label { font-size: 12px; fill: #24292f; }
.value { font-size: 11px; fill: #57606a; }
.axis { font-size: 10px; fill: #57606a; }
.grid { stroke: #d0d7de; stroke-width: 1; }
.head { font-size: 12px; fill: #57606a; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="22" class="head">${esc(header)}</text>
${body.join('\n')}
</svg>
`;
}
