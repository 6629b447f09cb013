/**
 * A directory a sandboxed upstream may write (its `readWritePaths`). When the connector runs as
 * root, sandboxed children run as an unprivileged user (default 65534:65534, see
 * `DEFAULT_SANDBOX_ROOT_FALLBACK_USER`), so the directory must belong to that user.
 *
 * @example
 * await prepareSandboxWritableDir('/var/lib/airlock/erp', { traverseFrom: '/var/lib/airlock' });
 */
import { chmod, chown, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { DEFAULT_SANDBOX_ROOT_FALLBACK_USER } from './sandbox-config.js';

export async function prepareSandboxWritableDir(
  dir: string,
  options: { runAs?: { uid: number; gid: number }; traverseFrom?: string } = {},
): Promise<void> {
  const runAs = options.runAs ?? DEFAULT_SANDBOX_ROOT_FALLBACK_USER;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() !== 0) return;
  // The unprivileged sandbox user must be able to reach the directory: grant search (x, not read)
  // on the directories from `traverseFrom` down to it.
  if (options.traverseFrom) {
    const base = resolve(options.traverseFrom);
    for (let d = dirname(resolve(dir)); !relative(base, d).startsWith('..'); d = dirname(d)) {
      const mode = (await stat(d)).mode & 0o777;
      if ((mode & 0o001) === 0) await chmod(d, mode | 0o001);
      if (d === base || d === dirname(d)) break;
    }
  }
  await chown(dir, runAs.uid, runAs.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) await chown(join(dir, entry.name), runAs.uid, runAs.gid);
  }
}
