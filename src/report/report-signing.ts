/**
 * Signing and verifying a report. `report.json` holds the report and an Ed25519 signature by the
 * connector's audit key over a short statement: the SHA-256 of the report's RFC 8785 canonical JSON
 * and the SHA-256 of `report.html`. `report.html` also carries the report digest in a
 * `<meta name="airlock-report-digest">`. Editing either file, or re-signing with another key when
 * the verifier pins the connector's key, is detected.
 *
 * @example
 * await writeSignedReport('./out', report, { dataDir: ctx.dataDir });
 * const result = await verifyReportDir('./out', { publicKeyPem: pinned });
 * if (!result.ok) console.error(result.problems);
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_KEY_FILE, auditKeyDir, auditKeyId, auditPublicKeyFromPem } from '../audit/audit-key.js';
import { sha256Hex } from '../json/canonical-hash.js';
import { canonicalJson } from '../json/canonical-json.js';
import { renderReportHtml } from './report-html.js';
import { REPORT_FORMAT, type ReportDocument, ReportError } from './report-model.js';

/** File names inside a report directory. */
export const REPORT_JSON_FILE = 'report.json';
export const REPORT_HTML_FILE = 'report.html';
/** Domain separation of the signed statement. */
export const REPORT_SIGNATURE_CONTEXT = 'airlock report signature v1';

export interface ReportSignature {
  alg: 'Ed25519';
  /** Hex SHA-256 of the audit public key's SPKI DER (the audit key id). */
  keyId: string;
  publicKeyPem: string;
  /** Hex SHA-256 of the canonical JSON of `report`. */
  reportSha256: string;
  /** Hex SHA-256 of `report.html` as written. */
  htmlSha256: string;
  /** base64url Ed25519 signature over {@link signedStatement}. */
  value: string;
}

export interface SignedReportFile {
  report: ReportDocument;
  signature: ReportSignature;
}

/** The exact bytes signed. */
export function signedStatement(reportSha256: string, htmlSha256: string): Buffer {
  return Buffer.from(`${REPORT_SIGNATURE_CONTEXT}\n${reportSha256}\n${htmlSha256}\n`, 'utf8');
}

/** Hex SHA-256 of a report's canonical JSON. */
export function reportDigest(report: ReportDocument): string {
  return sha256Hex(canonicalJson(report));
}

async function loadAuditPrivateKey(dataDir: string): Promise<KeyObject> {
  const file = join(auditKeyDir(dataDir), AUDIT_KEY_FILE);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ReportError(
      'AIRLOCK_REPORT_NO_AUDIT_KEY',
      `no audit key at ${file}: start the connector once (it creates the key) before making a signed report`,
      { cause },
    );
  }
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ReportError('AIRLOCK_REPORT_NO_AUDIT_KEY', `the audit key ${file} is not Ed25519`);
  }
  return key;
}

/**
 * Renders the HTML and signs both with the audit key in `<dataDir>/audit/`.
 *
 * @example
 * const { json, html } = await signReport(report, { dataDir });
 */
export async function signReport(
  report: ReportDocument,
  opts: { dataDir: string },
): Promise<{ json: string; html: string; file: SignedReportFile }> {
  const privateKey = await loadAuditPrivateKey(opts.dataDir);
  const publicKey = createPublicKey(privateKey);
  const reportSha256 = reportDigest(report);
  const html = renderReportHtml(report, reportSha256);
  const htmlSha256 = createHash('sha256').update(html, 'utf8').digest('hex');
  const signature: ReportSignature = {
    alg: 'Ed25519',
    keyId: auditKeyId(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    reportSha256,
    htmlSha256,
    value: sign(null, signedStatement(reportSha256, htmlSha256), privateKey).toString('base64url'),
  };
  const file: SignedReportFile = { report, signature };
  return { json: `${JSON.stringify(file, null, 2)}\n`, html, file };
}

/** Signs and writes `report.json` and `report.html` into `dir` (created 0700 when missing). */
export async function writeSignedReport(
  dir: string,
  report: ReportDocument,
  opts: { dataDir: string },
): Promise<SignedReportFile> {
  const { json, html, file } = await signReport(report, opts);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, REPORT_JSON_FILE), json, { mode: 0o644 });
  await writeFile(join(dir, REPORT_HTML_FILE), html, { mode: 0o644 });
  return file;
}

export interface ReportVerifyResult {
  ok: boolean;
  /** Empty when `ok`. */
  problems: string[];
  keyId: string | null;
  /** True when checked against a key the caller supplied, not only the one inside the report. */
  pinned: boolean;
  generatedAt: number | null;
}

function readSignedFile(text: string): SignedReportFile | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<SignedReportFile>;
    if (parsed.report?.format !== REPORT_FORMAT || typeof parsed.signature?.value !== 'string')
      return undefined;
    return parsed as SignedReportFile;
  } catch {
    return undefined;
  }
}

/**
 * Checks a report directory: the signature, the report digest, the HTML digest and the digest the
 * HTML embeds. With `publicKeyPem` the signing key must be that key. Never throws for a bad report.
 */
export async function verifyReportDir(
  dir: string,
  opts: { publicKeyPem?: string } = {},
): Promise<ReportVerifyResult> {
  const problems: string[] = [];
  const jsonText = await readFile(join(dir, REPORT_JSON_FILE), 'utf8').catch(() => undefined);
  const html = await readFile(join(dir, REPORT_HTML_FILE), 'utf8').catch(() => undefined);
  const file = jsonText === undefined ? undefined : readSignedFile(jsonText);
  const base = { pinned: opts.publicKeyPem !== undefined };
  if (!file)
    return {
      ok: false,
      problems: [`${REPORT_JSON_FILE} is missing or not an Airlock report`],
      keyId: null,
      generatedAt: null,
      ...base,
    };
  const sig = file.signature;
  let key: KeyObject | undefined;
  try {
    key = auditPublicKeyFromPem(opts.publicKeyPem ?? sig.publicKeyPem);
  } catch (err) {
    problems.push(`the verification key is unusable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const digest = reportDigest(file.report);
  if (digest !== sig.reportSha256)
    problems.push(`${REPORT_JSON_FILE} was modified: its content does not match the signed digest`);
  if (
    key &&
    !verify(null, signedStatement(sig.reportSha256, sig.htmlSha256), key, Buffer.from(sig.value, 'base64url'))
  ) {
    problems.push(
      opts.publicKeyPem
        ? 'the signature is not by the pinned audit key'
        : 'the signature does not verify with the key in the report',
    );
  }
  if (html === undefined) problems.push(`${REPORT_HTML_FILE} is missing`);
  else {
    if (createHash('sha256').update(html, 'utf8').digest('hex') !== sig.htmlSha256) {
      problems.push(`${REPORT_HTML_FILE} was modified: it does not match the signed digest`);
    }
    if (!html.includes(`<meta name="airlock-report-digest" content="${digest}">`)) {
      problems.push(`${REPORT_HTML_FILE} does not embed the digest of ${REPORT_JSON_FILE}`);
    }
  }
  return {
    ok: problems.length === 0,
    problems,
    keyId: key ? auditKeyId(key) : null,
    generatedAt: file.report.generatedAt,
    ...base,
  };
}
