/**
 * Configuration of the sandbox a stdio upstream runs in (bubblewrap + prlimit). Only the connector's
 * configuration file chooses the command and this block; agents never can.
 *
 * @example
 * ```yaml
 * upstreams:
 *   erp:
 *     command: node
 *     args: [dist/samples/erp/server.js, --db, /var/lib/erp/erp.sqlite]
 *     sandbox:
 *       mode: required            # the default: refuse to start the server when the sandbox is unavailable
 *       network: false            # default: no network at all (own network namespace)
 *       readWritePaths: [/var/lib/erp]
 *       env: [TZ]                 # names passed through from the connector's environment
 *       limits: { memoryMb: 2048, cpuSeconds: 3600, openFiles: 1024, processes: 64 }
 * ```
 */
import { z } from 'zod';

/**
 * `required`: refuse to start the server (clear error) when the sandbox cannot be created.
 * `preferred`: sandbox when possible, otherwise log a warning and run without one.
 * `off`: never sandbox (trusted, hand-vetted servers only).
 */
export type SandboxMode = 'required' | 'preferred' | 'off';

/**
 * Mode used by the connector when an upstream's config has no `sandbox.mode`: `required` (fail
 * closed). A host without bubblewrap then refuses to start the upstream with
 * `AIRLOCK_SANDBOX_UNAVAILABLE` instead of running it as the connector's user.
 */
export const DEFAULT_SANDBOX_MODE: SandboxMode = 'required';

/**
 * Resource limits applied with `prlimit` inside the sandbox (hard = soft).
 *
 * `memoryMb` bounds the *address space* (RLIMIT_AS), not resident memory: a bare Node.js process
 * reserves ~0.8 GB of address space, hence the generous default. `cpuSeconds` is total CPU time
 * (RLIMIT_CPU): the process is killed when it is used up, and supervision restarts it with backoff.
 * `processes` (RLIMIT_NPROC) counts processes *and threads* of the sandbox user in the sandbox's own
 * user namespace; a Node.js server uses about a dozen threads.
 */
export interface SandboxLimits {
  memoryMb?: number;
  cpuSeconds?: number;
  openFiles?: number;
  processes?: number;
}

/** Default address-space limit per upstream process: 4 GiB. */
export const DEFAULT_SANDBOX_MEMORY_MB = 4096;
/** Default CPU-time limit per upstream process: one hour of CPU, then it is killed and restarted. */
export const DEFAULT_SANDBOX_CPU_SECONDS = 3600;
/** Default open-file limit. */
export const DEFAULT_SANDBOX_OPEN_FILES = 1024;
/** Default process + thread limit inside one sandbox. */
export const DEFAULT_SANDBOX_PROCESSES = 128;
/**
 * User (uid:gid) the sandbox runs as when the connector itself runs as root: the kernel never applies
 * the process limit to root, and an upstream has no business being root. Default `nobody`.
 */
export const DEFAULT_SANDBOX_ROOT_FALLBACK_USER = { uid: 65534, gid: 65534 } as const;

export interface SandboxConfig {
  /** Default {@link DEFAULT_SANDBOX_MODE} in the connector's config. */
  mode?: SandboxMode;
  /** Allow network access (shares the connector's network namespace). Default false. */
  network?: boolean;
  /** Extra host paths visible read-only (absolute, or relative to the connector config file). */
  readOnlyPaths?: string[];
  /** Extra host paths visible read-write (e.g. the directory of a server's database). */
  readWritePaths?: string[];
  /** Names of variables passed through from the connector's environment. The upstream's `env` always applies. */
  env?: string[];
  limits?: SandboxLimits;
  /**
   * Paths that must never be visible inside the sandbox, even below a bound path: the connector sets
   * its `dataDir` here (tenant key, CA key, connector credential, store). Not settable in YAML.
   */
  hiddenPaths?: string[];
  /** uid/gid to run as when the connector runs as root. Default {@link DEFAULT_SANDBOX_ROOT_FALLBACK_USER}. */
  runAs?: { uid: number; gid: number };
  /** bubblewrap binary. Default `bwrap` from PATH. */
  bwrapPath?: string;
  /** prlimit binary (util-linux). Default `prlimit` from PATH. */
  prlimitPath?: string;
  /** setpriv binary (util-linux), used only when the connector runs as root. Default `setpriv` from PATH. */
  setprivPath?: string;
}

const limitsSchema = z.strictObject({
  memoryMb: z
    .number()
    .int()
    .min(64)
    .max(1024 * 1024)
    .optional(),
  cpuSeconds: z.number().int().min(1).optional(),
  openFiles: z.number().int().min(16).max(1_048_576).optional(),
  processes: z.number().int().min(4).max(1_000_000).optional(),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const absoluteOrRelativePath = z.string().min(1).max(4096);

/**
 * The `sandbox:` block of a stdio upstream in the connector's YAML (strict: unknown keys are errors).
 * `hiddenPaths` and the binary paths are not part of it: the connector decides those.
 */
export const sandboxYamlSchema = z.strictObject({
  mode: z.enum(['required', 'preferred', 'off']).optional(),
  network: z.boolean().optional(),
  readOnlyPaths: z.array(absoluteOrRelativePath).optional(),
  readWritePaths: z.array(absoluteOrRelativePath).optional(),
  env: z
    .array(z.string().regex(ENV_NAME, 'environment variable names are [A-Za-z_][A-Za-z0-9_]*'))
    .optional(),
  limits: limitsSchema.optional(),
  /**
   * bubblewrap binary (absolute path) when it is not `bwrap` on the connector's PATH. A path that does
   * not exist makes the sandbox unavailable (mode `required`: the upstream is not started).
   */
  bwrapPath: z.string().min(1).max(4096).optional(),
  /** `uid:gid` to run as when the connector runs as root (default 65534:65534). */
  runAs: z
    .string()
    .regex(/^\d{1,10}:\d{1,10}$/, 'expected "uid:gid", e.g. "65534:65534"')
    .optional(),
});
export type SandboxYaml = z.infer<typeof sandboxYamlSchema>;

/** The library-level sandbox config (what `Upstream` accepts), strict. */
export const sandboxConfigSchema = z.strictObject({
  mode: z.enum(['required', 'preferred', 'off']).optional(),
  network: z.boolean().optional(),
  readOnlyPaths: z.array(absoluteOrRelativePath).optional(),
  readWritePaths: z.array(absoluteOrRelativePath).optional(),
  env: z.array(z.string().regex(ENV_NAME)).optional(),
  limits: limitsSchema.optional(),
  hiddenPaths: z.array(absoluteOrRelativePath).optional(),
  runAs: z.strictObject({ uid: z.number().int().min(0), gid: z.number().int().min(0) }).optional(),
  bwrapPath: z.string().min(1).optional(),
  prlimitPath: z.string().min(1).optional(),
  setprivPath: z.string().min(1).optional(),
});

/**
 * Turns the YAML block into a {@link SandboxConfig}: relative paths are resolved with `resolvePath`
 * (the connector resolves them against its config file) and `hiddenPaths` (the connector's dataDir)
 * are added. A missing block means the defaults (mode `required`, no network, no extra paths).
 *
 * @example
 * const sandbox = sandboxFromYaml(entry.sandbox, { resolvePath: ctx.resolvePath, hiddenPaths: [ctx.dataDir] });
 */
export function sandboxFromYaml(
  yaml: SandboxYaml | undefined,
  options: { resolvePath: (p: string) => string; hiddenPaths: string[] },
): SandboxConfig {
  const config: SandboxConfig = {
    mode: yaml?.mode ?? DEFAULT_SANDBOX_MODE,
    network: yaml?.network ?? false,
    readOnlyPaths: (yaml?.readOnlyPaths ?? []).map(options.resolvePath),
    readWritePaths: (yaml?.readWritePaths ?? []).map(options.resolvePath),
    env: yaml?.env ?? [],
    hiddenPaths: options.hiddenPaths.map(options.resolvePath),
  };
  if (yaml?.limits) config.limits = yaml.limits;
  if (yaml?.bwrapPath) config.bwrapPath = options.resolvePath(yaml.bwrapPath);
  if (yaml?.runAs) {
    const [uid, gid] = yaml.runAs.split(':').map(Number);
    config.runAs = { uid: uid!, gid: gid! };
  }
  return config;
}

/** Limits with every default filled in. */
export function effectiveLimits(limits: SandboxLimits | undefined): Required<SandboxLimits> {
  return {
    memoryMb: limits?.memoryMb ?? DEFAULT_SANDBOX_MEMORY_MB,
    cpuSeconds: limits?.cpuSeconds ?? DEFAULT_SANDBOX_CPU_SECONDS,
    openFiles: limits?.openFiles ?? DEFAULT_SANDBOX_OPEN_FILES,
    processes: limits?.processes ?? DEFAULT_SANDBOX_PROCESSES,
  };
}
