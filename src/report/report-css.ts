/** The report's stylesheet, inlined into `report.html` (the page loads nothing from anywhere). */
export const REPORT_CSS = `
:root { color-scheme: light; --ink:#16202a; --muted:#5b6773; --line:#d8dee4; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; --accent:#0b5cad; --pii:#8250df; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
header.top { background: #0d1b2a; color: #fff; padding: 18px 28px; }
header.top h1 { margin: 0 0 4px; font-size: 22px; }
header.top p { margin: 0; color: #c9d4df; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 28px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; margin: 16px 0; }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: 5px 8px; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
.cmd { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
.cmd code { background: #eef1f4; padding: 1px 5px; border-radius: 4px; color: var(--ink); }
.pill { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.pill.ok { background: #dafbe1; color: var(--ok); } .pill.bad { background: #ffebe9; color: var(--bad); } .pill.warn { background: #fff8c5; color: var(--warn); } .pill.info { background: #ddf4ff; color: var(--accent); }
.answers { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; }
.answer { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; background: #fbfcfd; }
.answer a { color: var(--accent); font-weight: 600; text-decoration: none; }
.answer p { margin: 4px 0 0; font-size: 12.5px; }
.muted { color: var(--muted); }
svg.flow { max-width: 100%; height: auto; font: 13px system-ui, sans-serif; }
svg.flow .node rect { stroke-width: 1.5; }
svg.flow .agent rect { fill: #ddf4ff; stroke: var(--accent); }
svg.flow .tool rect { fill: #f6f8fa; stroke: #57606a; }
svg.flow .upstream rect { fill: #dafbe1; stroke: var(--ok); }
svg.flow .edge path { fill: none; stroke: #8c959f; stroke-width: 1.6; }
svg.flow .edge.pii path { stroke: var(--pii); stroke-width: 2.4; }
svg.flow text.col { font-weight: 600; fill: var(--muted); }
svg.flow .node text.detail { font-size: 11px; fill: var(--pii); }
svg.flow line.boundary { stroke: var(--bad); stroke-dasharray: 6 5; }
footer { color: var(--muted); font-size: 12px; margin-top: 20px; }
`;
