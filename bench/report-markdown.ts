/** Markdown of a benchmark run: the results tables (bench/results/comparison.md) and BENCHMARKS.md. */
import type { PathId } from './bench-paths.js';
import type { BenchResults, PathMeasure } from './bench-results.js';
import type { SessionMemoryResult } from './idle-sessions.js';

const n2 = (v: number | undefined, d = 2): string =>
  v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d);
const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: string[], rows: string[][], align?: string[]): string {
  const sep = align ?? head.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [row(head), row(sep), ...rows.map(row)].join('\n');
}

function measured(r: BenchResults): PathId[] {
  return r.paths.filter((p) => !p.skipped).map((p) => p.id);
}

function latencyTable(r: BenchResults, data: Partial<Record<PathId, PathMeasure>>, unit = 'ms'): string {
  const base = data['direct-http'];
  const tls = data['direct-tls'];
  const rows = measured(r).map((id) => {
    const m = data[id];
    if (!m) return [id, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
    const s = m.summary;
    return [
      `\`${id}\``,
      n2(s.p50),
      n2(s.p99),
      `${n2(s.p25)}–${n2(s.p75)}`,
      base ? `${n2(s.p50 / base.summary.p50)}×` : 'n/a',
      base ? `${s.p50 - base.summary.p50 >= 0 ? '+' : ''}${n2(s.p50 - base.summary.p50)}` : 'n/a',
      tls ? `${s.p50 - tls.summary.p50 >= 0 ? '+' : ''}${n2(s.p50 - tls.summary.p50)}` : 'n/a',
      `${int(s.n)}${m.errors ? ` (${m.errors} errors)` : ''}`,
      `${(m.roundSpread * 100).toFixed(0)} %`,
    ];
  });
  return table(
    [
      'path',
      `p50 ${unit}`,
      `p99 ${unit}`,
      'p25–p75',
      'p50 ÷ direct-http',
      'Δp50 vs direct-http',
      'Δp50 vs direct-tls',
      'samples',
      'round spread',
    ],
    rows,
  );
}

function throughputTable(r: BenchResults): string {
  const base = r.latencyConcurrent['direct-http'];
  const rows = measured(r).map((id) => {
    const m = r.latencyConcurrent[id];
    if (!m) return [`\`${id}\``, 'n/a', 'n/a', 'n/a'];
    return [
      `\`${id}\``,
      int(m.callsPerSecond),
      m.callsPerSecondRounds.map((v) => int(v)).join(' / '),
      base ? `${n2(m.callsPerSecond / base.callsPerSecond)}×` : 'n/a',
    ];
  });
  return table(['path', 'calls/s (median of rounds)', 'each round', '÷ direct-http'], rows);
}

function blobTable(r: BenchResults): string {
  const ssh = r.blob['ssh-R'];
  const base = r.blob['direct-http'];
  const rows = measured(r).map((id) => {
    const m = r.blob[id];
    if (!m) return [`\`${id}\``, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
    return [
      `\`${id}\``,
      n2(m.mbPerSecond.p50, 0),
      `${n2(m.mbPerSecond.min, 0)}–${n2(m.mbPerSecond.max, 0)}`,
      n2(m.summary.p50, 0),
      base ? `${n2(m.mbPerSecond.p50 / base.mbPerSecond.p50)}×` : 'n/a',
      ssh ? `${n2((m.mbPerSecond.p50 / ssh.mbPerSecond.p50) * 100, 0)} %` : 'n/a',
      `${m.summary.n}${m.errors ? ` (${m.errors} errors)` : ''}`,
    ];
  });
  return table(['path', 'MB/s p50', 'MB/s min–max', 'ms p50', '÷ direct-http', '% of ssh -R', 'calls'], rows);
}

function cpuTable(r: BenchResults): string {
  if ('skipped' in r.cpuPerCall) return `_Not measured: ${r.cpuPerCall.skipped}._`;
  const cpu = r.cpuPerCall;
  const nproc = r.meta.machine.nproc;
  const rows = measured(r).map((id) => {
    const c = cpu[id];
    if (!c) return [`\`${id}\``, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
    const server = Object.entries(c.echo).filter(([k]) => k !== 'load generator');
    const serverMs = server.reduce((a, [, v]) => a + v, 0);
    const gen = c.echo['load generator'] ?? 0;
    const blobServer = Object.entries(c.blob)
      .filter(([k]) => k !== 'load generator')
      .reduce((a, [, v]) => a + v, 0);
    return [
      `\`${id}\``,
      n2(serverMs, 3),
      server.map(([k, v]) => `${k} ${n2(v, 3)}`).join(', '),
      n2(gen, 3),
      int((nproc * 1000) / Math.max(0.001, serverMs + gen)),
      n2(blobServer, 0),
    ];
  });
  return table(
    [
      'path',
      'server CPU ms / call',
      'by process',
      'load generator ms / call',
      `calls/s if ${nproc} CPUs did only this`,
      `server CPU ms / ${r.meta.settings.blobMib} MiB call`,
    ],
    rows,
  );
}

function sessionsSection(res: SessionMemoryResult): string {
  const rows = res.points.map((p) => [
    `${int(p.open)} / ${int(p.requested)}`,
    `${kb(p.relayPerSession.rss)} KB`,
    `${kb(p.relayPerSession.heap)} KB`,
    `${kb(p.connectorPerSession.rss)} KB`,
    `${kb(p.connectorPerSession.heap)} KB`,
    `${(p.relay.rss / 1024 ** 2).toFixed(0)} / ${(p.connector.rss / 1024 ** 2).toFixed(0)} MiB`,
    `${p.relayConnections ?? '?'} / ${p.connectorSessions ?? '?'}`,
    `${p.openSeconds.toFixed(1)} s${p.failures ? `, ${p.failures} failed` : ''}`,
  ]);
  return [
    table(
      [
        'sessions open',
        'relay RSS / session',
        'relay heap+ext / session',
        'connector RSS / session',
        'connector heap+ext / session',
        'RSS relay / connector',
        'relay conns / connector sessions',
        'time to open',
      ],
      rows,
    ),
    '',
    `Baseline RSS: relay ${(res.baseline.relay.rss / 1024 ** 2).toFixed(0)} MiB, connector ${(res.baseline.connector.rss / 1024 ** 2).toFixed(0)} MiB.`,
    ...res.notes.map((n) => `Note: ${n}.`),
    ...res.points
      .filter((p) => p.firstFailure)
      .map((p) => `First failure at ${p.requested}: ${p.firstFailure}`),
  ].join('\n');
}

function skippedText(v: { skipped: string }): string {
  return `_Not measured: ${v.skipped}._`;
}

/** Title, run line, warnings, chart, targets and the paths measured. */
function headerSection(r: BenchResults, chartPath: string): string[] {
  const s = r.meta.settings;
  const m = r.meta.machine;
  const parts = [
    `# Airlock benchmark results (${s.mode} run)`,
    '',
    `${r.meta.startedAt} · revision ${r.meta.revision} · ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ` +
      `${m.os}, Node ${m.node} · load average ${m.loadAverageStart} → ${m.loadAverageEnd ?? '?'} · ` +
      `${r.meta.durationSeconds} s`,
  ];
  for (const w of r.meta.warnings) parts.push('', `> **Warning:** ${w}`);
  parts.push('', `![summary](${chartPath})`, '', '## Targets', '');
  parts.push(
    table(
      ['target', 'goal', 'measured', ''],
      r.targets.map((t) => [
        t.name,
        t.target,
        t.measured,
        t.met === undefined ? '—' : t.met ? '✅ met' : '❌ missed',
      ]),
      [':--', ':--', ':--', ':--'],
    ),
    '',
    '## Paths',
    '',
    table(
      ['path', 'what', 'status'],
      r.paths.map((p) => [`\`${p.id}\``, p.description, p.skipped ? `skipped: ${p.skipped}` : 'measured']),
      [':--', ':--', ':--'],
    ),
    '',
    r.meta.pipelineNote,
  );
  if (r.meta.ssh) parts.push('', `ssh -R: ${r.meta.ssh.version}, cipher ${r.meta.ssh.cipher ?? 'unknown'}.`);
  return parts;
}

/** Latency at both concurrencies, calls per second, CPU per call, the large result and the first call. */
function callSections(r: BenchResults): string[] {
  const s = r.meta.settings;
  return [
    '',
    '## Tool-call latency, concurrency 1 (ms)',
    '',
    latencyTable(r, r.latencyC1),
    '',
    `## Tool-call latency, concurrency ${s.concurrency} (ms)`,
    '',
    latencyTable(r, r.latencyConcurrent),
    '',
    `## Tool calls per second (closed loop, ${s.concurrency} callers)`,
    '',
    throughputTable(r),
    '',
    '## CPU per call',
    '',
    "User + system CPU of each path's server-side processes (their whole process trees, from /proc) during the " +
      'closed-loop windows, divided by the calls served; unlike latency and rates, it does not depend on what ' +
      'else the machine runs. `upstream` is the same process on every path but `mcp-proxy`.',
    '',
    cpuTable(r),
    '',
    `## ${s.blobMib} MiB tool result`,
    '',
    blobTable(r),
    '',
    '## Time to a first tool call for a new agent (ms)',
    '',
    'TCP + TLS (where the path has it) + protocol negotiation + one `tools/call`, official SDK client.',
    '',
    latencyTable(r, r.firstCall),
  ];
}

function relayRestartSection(r: BenchResults): string {
  if ('skipped' in r.relayRestart) return skippedText(r.relayRestart);
  return table(
    ['relay stopped with', 'stop ms', 'relay start ms', 'relay up → connector serving (ms)', 'total ms'],
    r.relayRestart.samples.map((x) => [
      x.signal,
      n2(x.stopMs, 0),
      n2(x.relayStartMs, 0),
      x.servingAfterRelayUpMs.join(', '),
      n2(x.totalMs, 0),
    ]),
  );
}

function profileSection(r: BenchResults): string[] {
  if ('skipped' in r.profile) return [skippedText(r.profile)];
  return r.profile.flatMap((p) => [
    `### ${p.process}: ${int(p.busyMs)} ms busy of ${int(p.totalMs)} ms, GC ${p.gcPercent} %`,
    '',
    '**Self time by module**',
    '',
    table(
      ['module', '% busy', 'ms'],
      p.byModule.slice(0, 10).map((f) => [f.frame, n2(f.percent, 1), n2(f.ms, 0)]),
    ),
    '',
    '**Top functions by self time**',
    '',
    table(
      ['function', '% busy', 'ms'],
      p.topSelf.slice(0, 12).map((f) => [`\`${f.frame}\``, n2(f.percent, 1), n2(f.ms, 0)]),
    ),
    '',
    '**Airlock functions by inclusive time**',
    '',
    table(
      ['function', '% busy', 'ms'],
      p.topAirlockInclusive.slice(0, 10).map((f) => [`\`${f.frame}\``, n2(f.percent, 1), n2(f.ms, 0)]),
    ),
    '',
  ]);
}

/** The results tables with a link to the chart. */
export function renderResultsMarkdown(r: BenchResults, chartPath: string): string {
  return [
    ...headerSection(r, chartPath),
    ...callSections(r),
    '',
    '## Memory per idle agent session',
    '',
    'skipped' in r.idleSessions ? skippedText(r.idleSessions) : sessionsSection(r.idleSessions),
    '',
    '## Serving again after a relay restart',
    '',
    relayRestartSection(r),
    '',
    '## CPU profile (relay and connector under load)',
    '',
    ...profileSection(r),
    '',
  ].join('\n');
}

/** BENCHMARKS.md: how the numbers are made, the machine, and the latest figures. */
export function renderBenchmarksDoc(r: BenchResults, chartPath: string, analysis?: string): string {
  const s = r.meta.settings;
  const m = r.meta.machine;
  const v = r.meta.versions;
  const method = `# Benchmarks

Airlock side by side with a direct connection, an SSH reverse tunnel and an MCP proxy. Reproduce with
\`npm run bench\` (about ten minutes; \`npm run bench -- --quick\` is a smoke run of about a minute that
writes to \`bench/results/quick/\`). Raw results: [\`bench/results/comparison.json\`](bench/results/comparison.json)
(summaries) and [\`bench/results/comparison-samples.json\`](bench/results/comparison-samples.json) (every sample); tables:
[\`bench/results/comparison.md\`](bench/results/comparison.md). This file is rewritten by every full run.

## Method

**One upstream, one set of calls.** Every path serves the same upstream process
([\`bench/upstream-server.ts\`](bench/upstream-server.ts), official SDK v2, both protocol eras): a tool
\`echo\` (the benchmark sends 128 characters) and a tool \`blob\` returning ${s.blobMib} MiB of text.

**Paths.**

| path | what is between the client and the upstream |
|:--|:--|
| \`direct-http\` | nothing: HTTP on loopback |
| \`direct-tls\` | nothing: HTTPS on loopback (TLS 1.3, ECDSA P-256) |
| \`airlock-full\` | the relay (\`airlock relay\`) and a connector (\`airlock connector run\`, i.e. \`startConnector\`), each its own process: agent TLS through the relay's SNI routing, an HTTP/2 stream of a TLS tunnel, TLS termination with the tenant key, client-certificate check on every request, the gateway pipeline, the upstream client |
| \`airlock-tunnel\` | the same, with the pipeline's stages given the least work a valid policy allows (below) |
| \`ssh-R\` | OpenSSH: the bench starts its own \`sshd\` on loopback (generated host key, a key-only login made in a temp dir) and \`ssh -N -R\` from the private side; HTTP rides the SSH connection |
| \`mcp-proxy\` | [supergateway](https://www.npmjs.com/package/supergateway) ${v.supergateway ?? ''} exposing the stdio build of the same server over Streamable HTTP (\`--stateful\`: one stdio child per MCP session) |

${r.meta.pipelineNote}

**Load generator.** Tool calls are raw JSON-RPC POSTs over an undici \`Pool\` with keep-alive
([\`bench/mcp-http-target.ts\`](bench/mcp-http-target.ts)), not SDK clients, so the generator costs
little CPU next to the system under test (one SDK client alone tops out near 1,000 calls/s on two
cores). Each request is exactly what the SDK client sends: 2026-07-28 era (stateless, \`_meta\`
envelope, \`Mcp-Method\`/\`Mcp-Name\` headers) on every path except \`mcp-proxy\`, which answers that era by
starting a stdio child per request; it is driven with one 2025-11-25 session instead, its fast path.
The answer is read whole and checked (a JSON-RPC result; for the blob, the size).

**Interleaving.** ${s.rounds} rounds; each round runs every measure on every path, the paths in a
shuffled (seeded) order, so drift of the machine hits all paths alike. Each measure warms up first.
The tables give p50, p99, the interquartile range, and the *round spread*: (max − min) / median of
the per-round medians, a check that medians are stable.

**Measures.**

- *Latency, concurrency 1*: ${s.c1Samples} sequential \`echo\` calls per path per round on one keep-alive connection (${s.c1Warmup} warm-up calls).
- *Latency and calls/s, concurrency ${s.concurrency}*: ${s.concurrency} callers in a closed loop on ${s.concurrency} keep-alive connections for ${s.closedLoopMs / 1000} s per path per round (each caller makes ${s.closedLoopWarmupCalls} warm-up calls first); calls/s = calls started in the window ÷ time to the last one's end. The maximum through one connector is this figure for \`airlock-full\`: everything (load generator, relay, connector, upstream) shares the same ${m.nproc} CPUs.
- *${s.blobMib} MiB tool result*: ${s.blobCalls} sequential \`blob\` calls per path per round; MB/s = response bytes (10^6) ÷ time from request to last byte.
- *Time to a first tool call*: a new agent = a new official SDK client with its own connection pool (TCP, TLS where the path has it, the agent helper \`connectToTenant\` for TLS paths), protocol negotiation (\`server/discover\`, or \`initialize\` for \`mcp-proxy\`), one \`tools/call\`; ${s.firstCallSamples} per path per round after one warm-up.
- *Memory per idle session*: relay and connector in their own processes with \`--expose-gc\` and a memory probe on IPC ([\`bench/idle-sessions.ts\`](bench/idle-sessions.ts)). An idle session is what a 2025-era client leaves open: its TLS connection through the relay, \`initialize\` done, the GET SSE stream open. Sessions are opened up to ${s.sessionCounts.map(int).join(' and ')}; per session = (memory after − baseline) ÷ sessions, after full GCs, for RSS and for V8 heap + external memory.
- *Serving again after a relay restart*: the relay process is killed (\`SIGKILL\`) or stopped (\`SIGTERM\`, GOAWAY to every tunnel) and started again on the same port; each connector is probed with a new agent connection every 20 ms until a call works. The target is measured from the new relay listening.
- *CPU profile*: relay and connector under the closed-loop load and ${s.blobMib} MiB calls, with \`node --cpu-prof\`; self time by module and function.

## Machine of the latest run

| | |
|:--|:--|
| CPUs (\`nproc\`) | ${m.nproc} × ${m.cpuModel} |
| memory | ${m.memoryGiB} GiB |
| OS | ${m.os}, kernel ${m.kernel} |
| Node | ${m.node} |
| load average (1 min) at start → end | ${m.loadAverageStart} → ${m.loadAverageEnd ?? '?'} |
| open files limit | ${m.ulimitNoFile} |
| packages | ${Object.entries(v)
    .map(([k, ver]) => `${k} ${ver}`)
    .join(', ')} |
| OpenSSH | ${r.meta.ssh ? `${r.meta.ssh.version}, cipher ${r.meta.ssh.cipher ?? '?'}` : 'not measured'} |
| revision | ${r.meta.revision}, ${r.meta.startedAt}, ${r.meta.durationSeconds} s |

`;
  // Demote the results' headings one level under "## Latest figures".
  const results = renderResultsMarkdown(r, chartPath)
    .replace(/^### /gm, '#### ')
    .replace(/^## /gm, '### ')
    .replace(/^# .*$/m, '## Latest figures');
  return `${method}${results}${analysis ? `\n${analysis.trim()}\n` : ''}`;
}
