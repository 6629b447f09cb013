/**
 * Shared set-up for sandbox tests: a temporary "connector" layout on disk (a project directory the
 * upstream may write, with the connector's data directory and its key files inside it, plus a secret
 * outside every bound path), and helpers to call tools of an `Upstream` and read their JSON answers.
 *
 * When the tests run as root the sandbox drops to uid/gid 65534, so the directories are handed to
 * that user (the same thing an operator does for a server's data directory).
 */
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Upstream } from '../../src/mcp/upstream.js';
import { DEFAULT_SANDBOX_ROOT_FALLBACK_USER } from '../../src/sandbox/sandbox-config.js';

export const KEY_CANARY = 'TENANT-CA-PRIVATE-KEY-CANARY-7f3a';
export const CREDENTIAL_CANARY = 'CONNECTOR-CREDENTIAL-CANARY-91bd';
export const OUTSIDE_CANARY = 'OUTSIDE-SECRET-CANARY-55c2';

/** dist/test/adversarial/hostile-upstream.js */
export const HOSTILE_UPSTREAM = fileURLToPath(new URL('../adversarial/hostile-upstream.js', import.meta.url));
/** dist/test/fixtures/fixture-mcp-server.js */
export const FIXTURE_UPSTREAM = fileURLToPath(new URL('../fixtures/fixture-mcp-server.js', import.meta.url));

export interface SandboxLayout {
  root: string;
  /** Read-write for the upstream. */
  project: string;
  /** The connector's data directory, inside `project`: must stay invisible. */
  dataDir: string;
  caKey: string;
  credentialKey: string;
  /** Outside every bound path. */
  outsideSecret: string;
  /** Where a started (unsandboxed) hostile upstream leaves its marker. */
  marker: string;
  close(): Promise<void>;
}

export async function createSandboxLayout(): Promise<SandboxLayout> {
  const root = await mkdtemp(join(tmpdir(), 'airlock-sandbox-'));
  await chmod(root, 0o755);
  const project = join(root, 'project');
  const dataDir = join(project, '.airlock', 'connector');
  await mkdir(join(dataDir, 'tenant'), { recursive: true });
  await mkdir(join(dataDir, 'credential'), { recursive: true });
  const caKey = join(dataDir, 'tenant', 'ca.key');
  const credentialKey = join(dataDir, 'credential', 'connector.key');
  await writeFile(caKey, `${KEY_CANARY}\n`, { mode: 0o600 });
  await writeFile(credentialKey, `${CREDENTIAL_CANARY}\n`, { mode: 0o600 });
  await mkdir(join(root, 'outside'));
  const outsideSecret = join(root, 'outside', 'secret.txt');
  await writeFile(outsideSecret, `${OUTSIDE_CANARY}\n`);
  await chmod(join(root, 'outside'), 0o755);
  await chmod(outsideSecret, 0o644);
  if (process.getuid?.() === 0) {
    // The keys stay root-only (as on a real connector); the project is the sandbox user's.
    const { uid, gid } = DEFAULT_SANDBOX_ROOT_FALLBACK_USER;
    await chown(project, uid, gid);
  }
  return {
    root,
    project,
    dataDir,
    caKey,
    credentialKey,
    outsideSecret,
    marker: join(root, 'marker.txt'),
    close: () => rm(root, { recursive: true, force: true }),
  };
}

/** Calls a tool and returns its structured JSON answer. */
export async function callTool(
  upstream: Upstream,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const result = await upstream.request('tools/call', { name, arguments: args });
  const structured = result.structuredContent as Record<string, unknown> | undefined;
  if (structured) return structured;
  const content = result.content as Array<{ text?: string }> | undefined;
  return JSON.parse(content?.[0]?.text ?? '{}') as Record<string, unknown>;
}

/** A pino destination that keeps every log line (JSON) for assertions. */
export function captureLogs(): { lines: string[]; stream: { write(line: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(line) } };
}
