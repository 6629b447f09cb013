/**
 * The Policy page: the policy in force (source, hash, summary, full text), its validation (and the
 * last rejected change, when the file on disk does not parse), and its history from the store.
 */
import { html } from 'hono/html';
import { ConfigValidationError } from '../config/load-yaml.js';
import { type LoadedPolicy, parsePolicy } from '../policy/policy-loader.js';
import type { PolicyVersionRecord } from '../store/store.js';
import { empty, type Html, pill, time } from './console-layout.js';
import { renderPatch, textPatch } from './patch-view.js';

export interface PolicyValidation {
  ok: boolean;
  problems: string[];
}

/** Parses policy text and reports every problem (file, line, field). */
export function validatePolicyText(text: string, source: string): PolicyValidation {
  try {
    parsePolicy(text, source);
    return { ok: true, problems: [] };
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      return {
        ok: false,
        problems: err.issues.map(
          (i) => `${i.line ? `line ${i.line}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}`,
        ),
      };
    }
    return { ok: false, problems: [err instanceof Error ? err.message : String(err)] };
  }
}

export function renderPolicyBody(opts: {
  current: LoadedPolicy | undefined;
  currentVersion: PolicyVersionRecord | undefined;
  lastRejected: { error: Error; at: number } | undefined;
  history: readonly PolicyVersionRecord[];
}): Html {
  const c = opts.current;
  const inForce = c
    ? (() => {
        const p = c.policy;
        const validation = validatePolicyText(c.text, c.source);
        return html`<div class="panel"><p>${validation.ok ? pill('ok', 'valid') : pill('bad', 'invalid')} <strong>${c.source}</strong> · hash <code>${c.hash.slice(0, 16)}</code>${opts.currentVersion ? html` · version ${opts.currentVersion.seq}, loaded ${time(opts.currentVersion.loadedAt)}` : ''}</p>
<ul><li>Default tier: ${pill(p.defaultTier === 'auto' ? 'ok' : p.defaultTier === 'block' ? 'bad' : 'warn', p.defaultTier)}</li>
<li>Catalog mode: <strong>${p.catalog.mode}</strong></li>
<li>${p.identities.length} identity entr${p.identities.length === 1 ? 'y' : 'ies'}, ${Object.keys(p.roles).length} role${Object.keys(p.roles).length === 1 ? '' : 's'}, ${p.tools.length} tool rule${p.tools.length === 1 ? '' : 's'}</li></ul>
${validation.ok ? '' : html`<ul>${validation.problems.map((m) => html`<li>${m}</li>`)}</ul>`}</div>
<h2>Text in force</h2><pre>${c.text}</pre>`;
      })()
    : empty(
        'No policy file is configured for this connector: every tool call is refused (fail closed) until one is.',
      );
  const rejected = opts.lastRejected
    ? html`<div class="notice error" role="alert"><strong>The last change to the policy file was rejected</strong> ${time(opts.lastRejected.at)}; the policy above stays in force.<pre>${opts.lastRejected.error.message}</pre></div>`
    : '';
  const history = opts.history.length
    ? html`<table><thead><tr><th scope="col" class="num">Version</th><th scope="col">Loaded</th><th scope="col">Source</th><th scope="col">Hash</th><th scope="col"><span class="sr-only">View</span></th></tr></thead><tbody>${opts.history.map(
        (v) =>
          html`<tr><td class="num">${v.seq}${opts.currentVersion?.seq === v.seq ? html` ${pill('ok', 'in force')}` : ''}</td><td>${time(v.loadedAt)}</td><td>${v.source}</td><td><code>${v.hash.slice(0, 16)}</code></td><td><a href="/policy/versions/${v.seq}">View version ${v.seq} and its changes</a></td></tr>`,
      )}</tbody></table>`
    : empty('No policy versions recorded yet.');
  return html`<h1>Policy</h1>
<p class="lead">The policy decides who may call which tool and in which tier. The file is watched; a change that does not validate is rejected and the previous policy stays in force.</p>
${rejected}
<h2>In force</h2>
${inForce}
<h2>History</h2>
${history}`;
}

export function renderPolicyVersionBody(
  v: PolicyVersionRecord | undefined,
  seq: number,
  base?: PolicyVersionRecord,
): Html {
  if (!v)
    return html`<h1>Policy version ${seq}</h1>${empty('No such policy version.')}<p><a href="/policy">Back to the policy</a></p>`;
  const validation = validatePolicyText(v.text, v.source);
  return html`<h1>Policy version ${v.seq}</h1>
<p>${validation.ok ? pill('ok', 'valid') : pill('bad', 'invalid with this Airlock')} ${v.source} · loaded ${time(v.loadedAt)} · hash <code>${v.hash}</code></p>
${validation.ok ? '' : html`<ul>${validation.problems.map((m) => html`<li>${m}</li>`)}</ul>`}
${renderVersionDiff(v, base)}
<h2>Full text</h2>
<pre>${v.text}</pre><p><a href="/policy">Back to the policy</a></p>`;
}

/** The change from `base` (the version before, or the one asked for) to `v`. */
function renderVersionDiff(v: PolicyVersionRecord, base: PolicyVersionRecord | undefined): Html {
  if (!base)
    return html`<h2>Changes</h2>${empty('This is the first recorded version: nothing to compare with.')}`;
  const patch = textPatch(`version ${base.seq}`, base.text, `version ${v.seq}`, v.text);
  const heading = html`<h2>Changes from version ${base.seq} to ${v.seq}</h2>`;
  if (!patch) return html`${heading}${empty(`The text is the same as in version ${String(base.seq)}.`)}`;
  return html`${heading}${renderPatch(patch, `Policy diff, version ${base.seq} to ${v.seq}`)}`;
}
