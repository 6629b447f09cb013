/**
 * The console's only stylesheet and script, served by the app itself (`/console.css`, `/console.js`)
 * so the Content-Security-Policy can forbid inline code and every other origin. The pages work
 * without the script; it adds live approval updates (server-sent events) and confirmations.
 */

/** Served as `/console.css`. */
export const CONSOLE_CSS = `
:root{--ink:#1b1f24;--muted:#4f5866;--line:#d5dae1;--bg:#f5f6f8;--card:#fff;--brand:#14213d;--accent:#1d4ed8;
--ok:#11703a;--ok-bg:#e7f6ec;--bad:#a4161a;--bad-bg:#fdecec;--warn:#8a5a00;--warn-bg:#fff4d6;--focus:#f59e0b}
*{box-sizing:border-box}
html{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
body{margin:0;min-height:100vh}
a{color:var(--accent)}a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}.skip:focus{left:.5rem}
header.top{background:var(--brand);color:#fff;display:flex;align-items:center;gap:1.5rem;padding:.55rem 1.5rem;flex-wrap:wrap}
header.top .brand{font-weight:700;font-size:1.05rem;margin:0;white-space:nowrap}
header.top .brand small{font-weight:400;opacity:.85;margin-left:.4rem}
nav.main ul{display:flex;gap:.25rem;list-style:none;margin:0;padding:0;flex-wrap:wrap}
nav.main a{color:#fff;text-decoration:none;padding:.35rem .7rem;border-radius:.35rem;display:inline-block}
nav.main a:hover{background:rgba(255,255,255,.12)}
nav.main a[aria-current=page]{background:#fff;color:var(--brand);font-weight:600}
.badge{display:inline-block;min-width:1.4rem;padding:0 .4rem;border-radius:999px;background:#fbbf24;color:#1b1f24;font-size:.8rem;font-weight:700;text-align:center;margin-left:.3rem}
.badge[data-count="0"]{background:rgba(255,255,255,.25);color:inherit}
.who{margin-left:auto;display:flex;gap:.75rem;align-items:center;font-size:.9rem}
.who form{margin:0}.who .muted{color:#cbd5e1}
td time{white-space:nowrap}
.who button{background:transparent;color:#fff;border:1px solid rgba(255,255,255,.6);padding:.25rem .7rem}
main{max-width:78rem;margin:1.25rem auto 3rem;padding:0 1.5rem}
h1{font-size:1.5rem;margin:.25rem 0 1rem}
h2{font-size:1.15rem;margin:1.75rem 0 .6rem}
h3{font-size:1.02rem;margin:0 0 .5rem}
h4{font-size:.92rem;margin:1rem 0 .35rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
p.lead{color:var(--muted);margin-top:-.5rem}
table{border-collapse:collapse;width:100%;background:var(--card);margin-bottom:1rem;border:1px solid var(--line)}
th,td{text-align:left;padding:.45rem .65rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eceff3;font-weight:600;font-size:.9rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.86rem}
pre{background:#0f172a;color:#e2e8f0;padding:.8rem 1rem;border-radius:.4rem;overflow:auto;max-height:32rem;white-space:pre-wrap;word-break:break-word}
pre .add{color:#86efac}pre .del{color:#fca5a5}pre .hunk{color:#93c5fd}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:1rem;margin-bottom:1rem}
.card,.panel{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:1rem 1.1rem}
.card .value{font-size:1.8rem;font-weight:700;line-height:1.2}
.card .label{color:var(--muted);font-size:.9rem}
.approval{background:var(--card);border:1px solid var(--line);border-left:5px solid #f59e0b;border-radius:.5rem;padding:1rem 1.2rem;margin-bottom:1rem}
.approval.new{animation:flash 1.5s ease-out}
@keyframes flash{from{background:#fff7db}to{background:var(--card)}}
.approval dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.25rem 0 .5rem}
.approval dt{color:var(--muted)}.approval dd{margin:0}
.decide{display:flex;gap:1rem;flex-wrap:wrap;margin-top:.8rem}
.decide form{display:flex;gap:.5rem;align-items:flex-end;flex-wrap:wrap;background:#f8fafc;border:1px solid var(--line);border-radius:.4rem;padding:.6rem .7rem;flex:1 1 22rem}
.decide label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);flex:1 1 12rem}
input,select,textarea{font:inherit;padding:.4rem .55rem;border:1px solid #8a94a3;border-radius:.3rem;background:#fff;color:var(--ink)}
button,.button{font:inherit;font-weight:600;padding:.42rem .95rem;border-radius:.35rem;border:1px solid transparent;cursor:pointer;background:var(--accent);color:#fff;text-decoration:none;display:inline-block}
button.approve{background:var(--ok)}button.deny,button.danger{background:var(--bad)}
button.secondary,.button.secondary{background:#fff;color:var(--ink);border-color:#8a94a3}
button:disabled{opacity:.55;cursor:not-allowed}
form.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:flex-end;background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.8rem 1rem;margin-bottom:1rem}
form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted);gap:.2rem}
form.stack{display:flex;gap:.75rem;flex-wrap:wrap;align-items:flex-end}
.notice{padding:.7rem 1rem;border-radius:.4rem;margin:0 0 1rem;border:1px solid}
.notice.ok{background:var(--ok-bg);border-color:#9bd3ae;color:#0b4d28}
.notice.error{background:var(--bad-bg);border-color:#f2a7a7;color:#7a1014}
.notice.warn{background:var(--warn-bg);border-color:#f2d27a;color:#5c3c00}
.pill{display:inline-block;padding:.05rem .55rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid}
.pill.ok{color:var(--ok);background:var(--ok-bg);border-color:#9bd3ae}
.pill.bad{color:var(--bad);background:var(--bad-bg);border-color:#f2a7a7}
.pill.warn{color:var(--warn);background:var(--warn-bg);border-color:#f2d27a}
.pill.neutral{color:var(--muted);background:#eef1f5;border-color:var(--line)}
.empty{color:var(--muted);font-style:italic;padding:1rem;background:var(--card);border:1px dashed var(--line);border-radius:.5rem}
td.empty{border:0;border-bottom:1px solid var(--line);border-radius:0}
.diff-changed td{background:#fff7db}.diff-added td{background:#e7f6ec}.diff-removed td{background:#fdecec}
.masked{color:var(--muted);font-style:italic}
.muted{color:var(--muted)}
.bar{display:inline-block;height:.7rem;background:var(--accent);border-radius:2px;vertical-align:middle}
.bar-0{width:0.0rem}.bar-1{width:0.8rem}.bar-2{width:1.6rem}.bar-3{width:2.4rem}.bar-4{width:3.2rem}.bar-5{width:4.0rem}.bar-6{width:4.8rem}.bar-7{width:5.6rem}.bar-8{width:6.4rem}.bar-9{width:7.2rem}.bar-10{width:8.0rem}
.login{max-width:26rem;margin:8vh auto;background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1.5rem 1.75rem}
.login h1{margin-top:0}.login form{display:flex;flex-direction:column;gap:.9rem}
.login label{display:flex;flex-direction:column;gap:.25rem;font-weight:600}
.live{font-size:.85rem;color:var(--muted)}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
.kv th{font-weight:600;background:#f8fafc;width:30%;word-break:break-word}
.kv th.depth-1{padding-left:1.6rem}.kv th.depth-2{padding-left:2.6rem}.kv th.depth-3{padding-left:3.6rem}
.kv th.depth-4{padding-left:4.6rem}.kv th.depth-5{padding-left:5.6rem}.kv th.depth-6{padding-left:6.6rem}
.kv .value{white-space:pre-wrap;word-break:break-word}
table.audit{table-layout:fixed}
table.audit th:nth-child(1){width:4rem}table.audit th:nth-child(2){width:10rem}table.audit th:nth-child(3){width:5.5rem}
table.audit th:nth-child(4),table.audit th:nth-child(5){width:9rem}table.audit th:nth-child(7){width:6rem}table.audit th:nth-child(8){width:28%}
table.audit td,table.audit td code{overflow-wrap:anywhere}table.audit td time{white-space:normal}
table.catalog th:nth-child(1){width:40%}table.catalog td{overflow-wrap:anywhere}
.desc{color:var(--muted);font-size:.88rem;margin-top:.2rem}
.tool-facts{background:#f8fafc;border:1px solid var(--line);border-radius:.4rem;padding:.5rem .8rem;margin:.25rem 0 .6rem}
.tool-facts p{margin:.25rem 0}.tool-title{font-weight:600}
details.kill summary{cursor:pointer;color:var(--ink);border:1px solid #8a94a3;border-radius:.35rem;padding:.2rem .6rem;display:inline-block;font-size:.88rem}
details.kill form{margin-top:.4rem}
details.raw{margin:1rem 0}details.raw summary{cursor:pointer;color:var(--accent)}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1.2rem;background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.8rem 1rem}
dl.fields dt{color:var(--muted)}dl.fields dd{margin:0;overflow-wrap:anywhere}
.local{color:var(--muted);font-size:.85em}td .local{display:block}
table.catalog td code,dl.fields dd code{overflow-wrap:anywhere}
p.or{text-align:center;color:var(--muted);margin:.8rem 0 .4rem}.login a.button{display:block;text-align:center}
.split{display:grid;grid-template-columns:1fr 1fr;gap:1.25rem}
@media (max-width:900px){.split{grid-template-columns:1fr}}
`;

/** Served as `/console.js`. Progressive enhancement only: every page works without it. */
export const CONSOLE_JS = `
(function () {
  'use strict';
  // Confirmation for destructive actions: <form data-confirm="...">.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form && form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Local time beside the UTC text of every <time datetime>.
  function localTimes(root) {
    var fmt;
    try { fmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }); } catch (e) { return; }
    Array.prototype.forEach.call(root.querySelectorAll('time[datetime]'), function (el) {
      if (el.hasAttribute('data-local')) return;
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) return;
      el.setAttribute('data-local', '');
      var span = document.createElement('span');
      span.className = 'local';
      span.textContent = ' (' + fmt.format(d) + ' local)';
      el.insertAdjacentElement('afterend', span);
    });
  }
  localTimes(document);

  if (!('EventSource' in window) || !document.body.hasAttribute('data-live')) return;
  var list = document.getElementById('pending-list');
  var empty = document.getElementById('pending-empty');
  var recent = document.getElementById('recent-decisions');
  var status = document.getElementById('live-status');
  var announcer = document.getElementById('announcer');
  var known = null;

  function setStatus(text) { if (status) status.textContent = text; }
  function fromHtml(html) {
    var t = document.createElement('template');
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }
  function update(snapshot) {
    document.querySelectorAll('[data-pending-count]').forEach(function (el) {
      el.textContent = String(snapshot.count);
      el.setAttribute('data-count', String(snapshot.count));
    });
    if (recent && typeof snapshot.recentHtml === 'string') { recent.innerHTML = snapshot.recentHtml; localTimes(recent); }
    if (!list) { known = snapshot.items.map(function (i) { return i.id; }); return; }
    var ids = snapshot.items.map(function (i) { return i.id; });
    Array.prototype.slice.call(list.querySelectorAll('[data-approval-id]')).forEach(function (el) {
      if (ids.indexOf(el.getAttribute('data-approval-id')) === -1) el.remove();
    });
    var added = [];
    snapshot.items.forEach(function (item, index) {
      var el = document.getElementById('approval-' + item.id);
      if (!el) {
        el = fromHtml(item.html);
        if (!el) return;
        if (known !== null) { el.classList.add('new'); added.push(item); }
      }
      var at = list.children[index];
      if (at !== el) list.insertBefore(el, at || null);
    });
    if (empty) empty.hidden = ids.length > 0;
    localTimes(document);
    if (announcer && added.length) {
      announcer.textContent = added.length === 1
        ? 'New approval request: ' + added[0].tool + ' by ' + added[0].identity
        : added.length + ' new approval requests';
    }
    known = ids;
  }

  var source = new EventSource('/events/approvals');
  source.addEventListener('approvals', function (event) {
    try { update(JSON.parse(event.data)); setStatus('Live: updates appear automatically.'); } catch (e) { setStatus('Live update failed: reload the page.'); }
  });
  source.addEventListener('error', function () { setStatus('Live updates interrupted; reconnecting…'); });
  window.addEventListener('pagehide', function () { source.close(); });
})();
`;
