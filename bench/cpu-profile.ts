/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and summarises where the busy time went: the top
 * functions by self time, the top Airlock functions by inclusive time, and self time per module
 * (node core module, npm package, or Airlock part). A time window (µs of the monotonic clock, the
 * profile's own time base, which `process.hrtime` shares) keeps start-up and shutdown out.
 */
import { readFile } from 'node:fs/promises';
import { round } from './sample-stats.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileFrame {
  /** `function (file:line)`. */
  frame: string;
  /** Share of busy time, %. */
  percent: number;
  ms: number;
}

export interface ProfileSummary {
  process: string;
  /** Wall time covered by the profile. */
  totalMs: number;
  /** Time not idle. */
  busyMs: number;
  /** Garbage collector share of busy time, %. */
  gcPercent: number;
  topSelf: ProfileFrame[];
  topAirlockInclusive: ProfileFrame[];
  byModule: ProfileFrame[];
}

/** Shortens a script URL: `node:internal/...`, `undici/lib/...`, `src/relay/agent-pipe.js`. */
function shortUrl(url: string): string {
  if (url === '' || url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const src = url.search(/\/(src|bench|samples)\//);
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

function frameKey(cf: CallFrame): string {
  const name = cf.functionName || '(anonymous)';
  if (cf.url === '') return name;
  return `${name} (${shortUrl(cf.url)}:${cf.lineNumber + 1})`;
}

/** Module of a leaf frame: GC, node core module, npm package or Airlock part. */
function moduleOf(cf: CallFrame): string {
  const { url, functionName } = cf;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program: V8/native)';
    return `native: ${functionName || '?'}`;
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node: ${m?.[1] ?? url}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm: ${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const part = /\/src\/([^/]+)\//.exec(url);
  return part ? `airlock: src/${part[1]}` : `other: ${shortUrl(url)}`;
}

/**
 * Summarises one profile.
 *
 * @example
 * const summary = await summarizeCpuProfile('/tmp/prof/relay.cpuprofile', 'relay', 15);
 */
export async function summarizeCpuProfile(
  file: string,
  processName: string,
  top = 15,
  window?: { startUs: number; endUs: number },
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const modules = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  let totalUs = 0;
  const samples = profile.samples;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    // timeDeltas[i] is the time since the previous sample: it belongs to the previous sample's frame.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (dt <= 0) continue;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    totalUs += dt;
    const node = byId.get(samples[i] ?? -1);
    if (!node) continue;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    if (cf.functionName === '(garbage collector)') gcUs += dt;
    const key = frameKey(cf);
    self.set(key, (self.get(key) ?? 0) + dt);
    const mod = moduleOf(cf);
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      if (!n || !/\/src\//.test(n.callFrame.url) || n.callFrame.url.includes('/node_modules/')) continue;
      const k = frameKey(n.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const rank = (map: Map<string, number>, n: number): ProfileFrame[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([frame, us]) => ({ frame, percent: round((us / busyUs) * 100, 1), ms: round(us / 1000, 1) }));
  return {
    process: processName,
    totalMs: round(totalUs / 1000, 0),
    busyMs: round(busyUs / 1000, 0),
    gcPercent: round((gcUs / busyUs) * 100, 1),
    topSelf: rank(self, top),
    topAirlockInclusive: rank(inclusive, top),
    byModule: rank(modules, top),
  };
}
