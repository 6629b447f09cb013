/**
 * Small view helpers of the report page: times, pills, the "reproduce" line under every figure and
 * the short answers to the five questions, derived from the evidence (never fixed text).
 */
import { html } from 'hono/html';
import type { ReportDocument } from './report-model.js';

export type Html = ReturnType<typeof html>;

/** `2026-12-07 11:53:25Z` (UTC; deterministic). */
export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function pill(ok: boolean | null, yes: string, no: string, unknown = 'unknown'): Html {
  if (ok === null) return html`<span class="pill warn">${unknown}</span>`;
  return html`<span class="pill ${ok ? 'ok' : 'bad'}">${ok ? yes : no}</span>`;
}

/** The command that reproduces a figure. */
export function cmd(command: string): Html {
  return html`<p class="cmd">Reproduce: <code>${command}</code></p>`;
}

/** `1 entry`, `3 entries`. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function short(hash: string | null | undefined, n = 16): string {
  return hash ? hash.slice(0, n) : '—';
}

export interface Answer {
  anchor: string;
  question: string;
  answer: string;
  ok: boolean;
}

/** The five answers, each computed from the evidence in the report. */
export function answersOf(r: ReportDocument): Answer[] {
  const tenantTls = r.keys.find((k) => k.id === 'tenant-tls');
  const tenantProbes = r.tls.endpoints.filter((e) => e.name.startsWith('tenant endpoint'));
  const tls12 = tenantProbes.some((e) => e.probes.some((p) => p.offered === 'TLSv1.2' && p.accepted));
  const tls13 = tenantProbes.some((e) => e.probes.some((p) => p.offered === 'TLSv1.3' && p.accepted));
  const v = r.audit.verification;
  const stdio = r.sandbox.upstreams.filter((u) => u.kind === 'stdio');
  const unsandboxed = stdio.filter((u) => u.sandboxed === false).map((u) => u.name);
  const relay = r.dataPath.relay;
  return [
    {
      anchor: 'path',
      question: '1. Where does data traverse?',
      answer: relay
        ? `Agents reach ${r.dataPath.tenantHost ?? 'the tenant'} through ${relay.url} as TLS ciphertext; plaintext exists only in this connector.${tls12 ? ' TLS 1.2 is still accepted.' : ''}`
        : 'No relay: agents connect to this connector directly.',
      ok: tenantProbes.length > 0 ? tls13 && !tls12 : true,
    },
    {
      anchor: 'keys',
      question: '2. Who can decrypt it?',
      answer: `Only this connector: the tenant TLS key ${short(tenantTls?.fingerprint)}… was generated in ${r.installation.dataDir} and never leaves it.`,
      ok: Boolean(
        tenantTls?.present &&
          tenantTls.fileMode !== undefined &&
          (Number.parseInt(tenantTls.fileMode, 8) & 0o077) === 0,
      ),
    },
    {
      anchor: 'identities',
      question: '3. What is the unit of authentication?',
      answer: `Every request, checked against the agent's key (${plural(r.identities.agents.length, 'agent identity', 'agent identities')}) and policy version ${r.policy.current?.seq ?? '—'}.`,
      ok: r.policy.current !== null,
    },
    {
      anchor: 'audit',
      question: '4. Where does the audit live; can an admin tamper?',
      answer: v
        ? `In this connector's store: ${plural(v.entries, 'entry', 'entries')}, signed through entry ${v.signedThrough}, ${v.witnessedThrough !== undefined ? `witnessed through entry ${v.witnessedThrough}` : `${plural(v.witnessedCheckpoints, 'checkpoint', 'checkpoints')} held by witnesses`}. Verification: ${v.ok ? 'OK' : `FAILED (${v.firstProblem?.kind ?? ''})`}.`
        : 'No audit key yet: the trail has not been started.',
      ok: v?.ok === true,
    },
    {
      anchor: 'isolation',
      question: '5. What isolates us?',
      answer: `A tenant key and hostname of our own; ${stdio.length - unsandboxed.length} of ${stdio.length} local upstreams sandboxed${unsandboxed.length ? ` (not: ${unsandboxed.join(', ')})` : ''}.`,
      ok: unsandboxed.length === 0,
    },
  ];
}
