/**
 * Which host paths a sandboxed upstream needs to see: the system directories a program needs to run
 * (read-only), the command's own installation, and the package of the script it runs. Everything else
 * on the host is absent inside the sandbox.
 */
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A system path as bubblewrap should recreate it: a read-only bind, or a symlink (merged-/usr systems). */
export type SystemEntry =
  | { kind: 'ro-bind'; path: string }
  | { kind: 'symlink'; path: string; target: string };

/** Top-level directories a dynamically linked program may need (bound read-only when present). */
export const SYSTEM_DIRECTORIES = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/** Files and directories under /etc that programs read and that hold no secrets. */
export const SYSTEM_ETC_ENTRIES = [
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/pki',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/nsswitch.conf',
  '/etc/passwd',
  '/etc/group',
  '/etc/hosts',
  '/etc/host.conf',
  '/etc/mime.types',
] as const;

/** Extra /etc entries only when the upstream may use the network (name resolution). */
export const NETWORK_ETC_ENTRIES = ['/etc/resolv.conf', '/etc/gai.conf'] as const;

/**
 * The system entries present on this host, symlinks preserved (on merged-/usr systems `/lib` is a link
 * to `usr/lib`; binding it as a link keeps the layout identical inside the sandbox).
 */
export function systemEntries(network: boolean): SystemEntry[] {
  const out: SystemEntry[] = [];
  const candidates = [...SYSTEM_DIRECTORIES, ...SYSTEM_ETC_ENTRIES, ...(network ? NETWORK_ETC_ENTRIES : [])];
  for (const path of candidates) {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    // Only top-level symlinks are recreated as links; /etc entries are bound (bwrap follows the link).
    if (stat.isSymbolicLink() && !path.startsWith('/etc/'))
      out.push({ kind: 'symlink', path, target: readlinkSync(path) });
    else out.push({ kind: 'ro-bind', path });
  }
  return out;
}

/** True when `path` is already visible through the system entries. */
export function isSystemPath(path: string): boolean {
  return SYSTEM_DIRECTORIES.some((dir) => isInside(path, dir));
}

/** True when `child` is `parent` or lies below it (both absolute, normalised). */
export function isInside(child: string, parent: string): boolean {
  if (child === parent) return true;
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Finds an executable the way `execvp` would: a name with a `/` is resolved against `cwd`, a bare name
 * is searched on `pathEnv`. Returns the absolute path, or undefined.
 *
 * @example
 * resolveExecutable('node', { cwd: process.cwd(), pathEnv: process.env.PATH }); // '/usr/bin/node'
 */
export function resolveExecutable(
  command: string,
  options: { cwd: string; pathEnv: string | undefined },
): string | undefined {
  if (command.includes('/')) {
    const full = resolve(options.cwd, command);
    return isExecutableFile(full) ? full : undefined;
  }
  for (const dir of (options.pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const full = resolve(options.cwd, dir, command);
    if (isExecutableFile(full)) return full;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Realpath, or the path itself when it does not exist. */
export function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Read-only paths a command needs beyond the system directories: nothing when it lives in `/usr` (or
 * another system directory), otherwise its installation prefix (`<prefix>/bin/<cmd>` → `<prefix>`, or
 * its own directory).
 */
export function commandPaths(executable: string): string[] {
  const real = realpathOr(executable);
  const paths: string[] = [];
  if (!isSystemPath(executable)) paths.push(executable);
  if (!isSystemPath(real)) {
    const inNodeModules = nodeModulesRoot(real);
    if (inNodeModules) paths.push(...projectPaths(inNodeModules, real));
    else {
      const dir = dirname(real);
      paths.push(dir.endsWith(`${sep}bin`) ? dirname(dir) : dir);
    }
  }
  return dedupe(paths);
}

/**
 * Read-only paths a script needs (`node dist/server.js`): its project's `package.json` and
 * `node_modules`, and the top-level directory of the project that holds the script (`dist`). A script
 * inside `node_modules` gets that `node_modules` (dependencies are hoisted next to it). A script
 * outside any project gets its own directory.
 *
 * @example
 * scriptPaths('/srv/app/dist/samples/erp/server.js');
 * // ['/srv/app/package.json', '/srv/app/node_modules', '/srv/app/dist']
 */
export function scriptPaths(script: string): string[] {
  const real = realpathOr(script);
  const inNodeModules = nodeModulesRoot(real);
  if (inNodeModules) return projectPaths(inNodeModules, real);
  let dir = dirname(real);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return projectPaths(dir, real);
    const parent = dirname(dir);
    if (parent === dir) return [dirname(real)];
    dir = parent;
  }
}

/** The directory that contains the outermost `node_modules` in `path`, if any. */
function nodeModulesRoot(path: string): string | undefined {
  const marker = `${sep}node_modules${sep}`;
  const at = path.indexOf(marker);
  return at < 0 ? undefined : path.slice(0, at) || sep;
}

function projectPaths(root: string, file: string): string[] {
  const paths: string[] = [];
  const manifest = join(root, 'package.json');
  if (existsSync(manifest)) paths.push(manifest);
  const modules = join(root, 'node_modules');
  if (existsSync(modules)) paths.push(modules);
  const rel = relative(root, file);
  const top = rel.split(sep)[0];
  if (top && top !== 'node_modules') paths.push(join(root, top));
  return dedupe(paths);
}

function dedupe(paths: string[]): string[] {
  return [...new Set(paths)];
}
