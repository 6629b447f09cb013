/**
 * Whether an unprivileged user can reach a path: every parent directory must grant it search (x)
 * permission. When the connector runs as root, bubblewrap runs as the sandbox user and must reach
 * every bind source itself; a source behind a private parent (a checkout under /root, a 0700 temp
 * directory) would make the upstream fail at start with a bare "Permission denied".
 *
 * @example
 * unreachableParent('/root/airlock/dist', { uid: 65534, gid: 65534 }); // '/root'
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The first parent directory of `path` the user cannot search, or `undefined` when all can be. */
export function unreachableParent(path: string, user: { uid: number; gid: number }): string | undefined {
  const chain: string[] = [];
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of chain) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(dir);
    } catch {
      return dir;
    }
    const mode = Number(st.mode);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) return dir;
  }
  return undefined;
}
