/**
 * Hot reload of the policy file. `fs.watch` on the file's directory (so editors that save by
 * rename are seen) plus a `stat` poll as fallback (network filesystems, containers, inotify limits),
 * both debounced. A changed file is parsed and compiled completely before anything happens:
 *
 * - valid → recorded in the store as a new policy version → swapped in atomically (`current` is one
 *   reference; a request sees the old or the new policy, never a mix) → `change` event;
 * - invalid (YAML, schema, unknown role, bad glob, bad JSON Schema, unreadable file) → the old
 *   policy stays in force and an `error` event carries the `ConfigError` (file, line, every issue);
 * - valid but the store cannot record it → not applied (fail closed), `error` event, retried on the
 *   next change or poll.
 *
 * Events are also published on the diagnostics channels `airlock:policy:change` and
 * `airlock:policy:rejected`. When nobody listens to `error`, it is logged instead of thrown.
 *
 * @example
 * const watcher = await watchPolicy({ file: 'policy.yaml', store: store.policyVersions, logger });
 * watcher.on('change', ({ current }) => log.info({ hash: current.hash }, 'policy reloaded'));
 * watcher.on('error', (err) => log.warn(err.message)); // "policy.yaml:7: roles.x.tools[0]: ..."
 * gateway.use(() => watcher.engine.canCall(identity, tool));
 * await watcher.close();
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, pino } from 'pino';
import { ConfigValidationError, DEFAULT_MAX_CONFIG_BYTES } from '../config/load-yaml.js';
import { ConfigError } from '../errors/airlock-error.js';
import type { PolicyVersionRecord, PolicyVersionRepository } from '../store/store.js';
import type { PolicyEngine } from './policy-engine.js';
import { type LoadedPolicy, loadPolicyFile, parsePolicy, policyHash } from './policy-loader.js';

/** Quiet time after the last file event before the file is read (editors write in several steps). */
export const DEFAULT_POLICY_DEBOUNCE_MS = 200;
/** How often the file's size/mtime/inode are checked when `fs.watch` misses a change. 0 disables. */
export const DEFAULT_POLICY_POLL_INTERVAL_MS = 2_000;
/** A changed file must read the same twice, this far apart, before it is parsed (no half-written files). */
export const DEFAULT_POLICY_SETTLE_MS = 100;
/** Reads before giving up on a file that keeps changing (the last read is then used). */
const MAX_SETTLE_ROUNDS = 20;

export const POLICY_CHANGE_CHANNEL = 'airlock:policy:change';
export const POLICY_REJECTED_CHANNEL = 'airlock:policy:rejected';

export interface PolicyWatcherOptions {
  file: string;
  /** Where accepted versions are recorded, usually `store.policyVersions`. Omit to record nothing. */
  store?: PolicyVersionRepository;
  /** Default `DEFAULT_POLICY_DEBOUNCE_MS` (200). */
  debounceMs?: number;
  /** Default `DEFAULT_POLICY_SETTLE_MS` (100); 0 parses the first read. */
  settleMs?: number;
  /** Default `DEFAULT_POLICY_POLL_INTERVAL_MS` (2000); 0 disables polling. */
  pollIntervalMs?: number;
  /** Use `fs.watch` (default true). With false, only polling sees changes. */
  fsWatch?: boolean;
  /** Default `DEFAULT_MAX_CONFIG_BYTES`. */
  maxBytes?: number;
  /** Clock for `loadedAt` (epoch ms). Default `Date.now`. */
  now?: () => number;
  /**
   * Checks a parsed change against live state, e.g. conditions against the pinned tool schemas
   * (`pinnedConditionProblems`); any problem rejects the change like a parse error. Default: none.
   */
  check?: (loaded: LoadedPolicy) => string[];
  logger?: Logger;
}

/** Payload of the `change` event. */
export interface PolicyChange {
  /** Undefined for the initial load (not emitted as an event; see `watchPolicy`). */
  previous: LoadedPolicy | undefined;
  current: LoadedPolicy;
  /** The store's record of this version, when a store is configured. */
  version: PolicyVersionRecord | undefined;
}

/** What one `reload()` did. */
export type PolicyReloadResult =
  | { outcome: 'changed'; change: PolicyChange }
  | { outcome: 'unchanged' }
  | { outcome: 'rejected'; error: Error };

interface PolicyWatcherEvents {
  change: [PolicyChange];
  error: [Error];
}

const changeChannel = diagnosticsChannel.channel(POLICY_CHANGE_CHANNEL);
const rejectedChannel = diagnosticsChannel.channel(POLICY_REJECTED_CHANNEL);

export class PolicyWatcher extends EventEmitter<PolicyWatcherEvents> {
  readonly file: string;
  #current: LoadedPolicy;
  #version: PolicyVersionRecord | undefined;
  readonly #options: PolicyWatcherOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #fsWatcher: FSWatcher | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #lastStat: string | undefined;
  /** The last rejected text: the same broken file is reported (emitted) once, not on every event. */
  #rejected: { hash: string; error: Error } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Use `watchPolicy`; the constructor takes an already loaded and recorded policy. */
  constructor(
    initial: LoadedPolicy,
    version: PolicyVersionRecord | undefined,
    options: PolicyWatcherOptions & { file: string },
  ) {
    super();
    this.file = options.file;
    this.#current = initial;
    this.#version = version;
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ part: 'policy' });
    this.#now = options.now ?? Date.now;
  }

  /** The policy in force. */
  get current(): LoadedPolicy {
    return this.#current;
  }

  /** The compiled policy in force (shorthand for `current.engine`). */
  get engine(): PolicyEngine {
    return this.#current.engine;
  }

  /** The store record of the policy in force, when a store is configured. */
  get version(): PolicyVersionRecord | undefined {
    return this.#version;
  }

  /**
   * Reads the file now and applies it if it changed and is valid. Reloads never overlap: a call made
   * during a reload runs after it. Never throws; the outcome says what happened.
   *
   * @example
   * process.on('SIGHUP', () => void watcher.reload());
   */
  reload(): Promise<PolicyReloadResult> {
    const run = this.#queue.then(() => this.#reloadOnce());
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops watching. The last policy stays readable through `current`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#fsWatcher?.close();
    this.#fsWatcher = undefined;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#debounceTimer) clearTimeout(this.#debounceTimer);
    this.#pollTimer = undefined;
    this.#debounceTimer = undefined;
    await this.#queue;
  }

  /**
   * Starts `fs.watch` and the poll. Called by `watchPolicy` with the file's stat signature taken
   * before the initial load, so a change made while loading is picked up.
   */
  async start(signatureBeforeLoad?: string): Promise<void> {
    this.#lastStat = await statSignature(this.file);
    if (this.#options.fsWatch !== false) this.#startFsWatch();
    const interval = this.#options.pollIntervalMs ?? DEFAULT_POLICY_POLL_INTERVAL_MS;
    if (interval > 0) {
      this.#pollTimer = setInterval(() => void this.#poll(), interval);
      this.#pollTimer.unref();
    }
    if (signatureBeforeLoad !== undefined && signatureBeforeLoad !== this.#lastStat) this.#schedule();
  }

  #startFsWatch(): void {
    const name = basename(this.file);
    try {
      this.#fsWatcher = watch(dirname(this.file), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) this.#schedule();
      });
      this.#fsWatcher.on('error', (err) => {
        this.#log.warn({ err }, 'fs.watch failed; relying on polling');
        this.#fsWatcher?.close();
        this.#fsWatcher = undefined;
      });
    } catch (err) {
      this.#log.warn({ err }, 'fs.watch unavailable; relying on polling');
    }
  }

  async #poll(): Promise<void> {
    if (this.#closed) return;
    const signature = await statSignature(this.file);
    if (signature !== this.#lastStat) {
      this.#lastStat = signature;
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounceTimer) clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = undefined;
      void this.reload();
    }, this.#options.debounceMs ?? DEFAULT_POLICY_DEBOUNCE_MS);
    this.#debounceTimer.unref();
  }

  async #reloadOnce(): Promise<PolicyReloadResult> {
    if (this.#closed) return { outcome: 'unchanged' };
    const read = await this.#readSettled();
    if (read instanceof Error) return this.#reject(read, undefined);
    const text = read;
    const maxBytes = this.#options.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES;
    if (Buffer.byteLength(text) > maxBytes) {
      return this.#reject(
        new ConfigValidationError(this.file, [
          { line: undefined, path: '', message: `file is larger than ${maxBytes} bytes` },
        ]),
        undefined,
      );
    }
    const hash = policyHash(text);
    if (hash === this.#current.hash) {
      this.#rejected = undefined;
      return { outcome: 'unchanged' };
    }
    // Already reported: answer the caller again, but do not re-emit.
    if (hash === this.#rejected?.hash) return { outcome: 'rejected', error: this.#rejected.error };
    let loaded: LoadedPolicy;
    try {
      loaded = parsePolicy(text, this.file);
      const problems = this.#options.check?.(loaded) ?? [];
      if (problems.length > 0) {
        throw new ConfigValidationError(
          this.file,
          problems.map((message) => ({ line: undefined, path: 'tools', message })),
        );
      }
    } catch (err) {
      return this.#reject(err instanceof Error ? err : new Error(String(err)), hash);
    }
    let version: PolicyVersionRecord | undefined;
    if (this.#options.store) {
      try {
        version = await this.#options.store.recordPolicyVersion({
          hash,
          text,
          source: this.file,
          loadedAt: this.#now(),
        });
      } catch (err) {
        // Not recorded → not applied. Not remembered as rejected: the next event or poll retries.
        const error = err instanceof Error ? err : new Error(String(err));
        return this.#reject(error, undefined);
      }
    }
    return this.#swap(loaded, version);
  }

  /**
   * Applies a version another process recorded in the shared store (a connector pair: the store's
   * newest version is in force on every member). The text is parsed and checked like a file; it is
   * not recorded again. Versions not newer than the one in force are ignored.
   *
   * @example
   * store.changes.subscribe('policy', async () => watcher.adopt(await versions.latestPolicyVersion()));
   */
  adopt(version: PolicyVersionRecord): Promise<PolicyReloadResult> {
    const run = this.#queue.then(() => this.#adoptOnce(version));
    this.#queue = run.catch(() => {});
    return run;
  }

  #adoptOnce(version: PolicyVersionRecord): PolicyReloadResult {
    const stale = this.#version !== undefined && version.seq <= this.#version.seq;
    if (this.#closed || stale || version.hash === this.#current.hash) return { outcome: 'unchanged' };
    let loaded: LoadedPolicy;
    try {
      loaded = parsePolicy(version.text, `${version.source} (stored version ${version.seq})`);
      const problems = this.#options.check?.(loaded) ?? [];
      if (problems.length > 0) throw new Error(problems.join('; '));
    } catch (err) {
      return this.#reject(err instanceof Error ? err : new Error(String(err)), version.hash);
    }
    return this.#swap(loaded, version);
  }

  #swap(loaded: LoadedPolicy, version: PolicyVersionRecord | undefined): PolicyReloadResult {
    if (this.#closed) return { outcome: 'unchanged' };
    const hash = loaded.hash;
    const change: PolicyChange = { previous: this.#current, current: loaded, version };
    this.#current = loaded;
    this.#version = version;
    this.#rejected = undefined;
    this.#log.info({ hash, seq: version?.seq }, 'policy reloaded');
    if (changeChannel.hasSubscribers) {
      changeChannel.publish({
        file: this.file,
        hash,
        previousHash: change.previous?.hash,
        seq: version?.seq,
      });
    }
    this.emit('change', change);
    return { outcome: 'changed', change };
  }

  /**
   * The file's text once it stopped changing: read, wait `settleMs`, read again, until two reads
   * agree. A writer that truncates then writes (or deletes then renames) is never seen half-way.
   * The text of the policy in force is returned at once.
   */
  async #readSettled(): Promise<string | Error> {
    const settleMs = this.#options.settleMs ?? DEFAULT_POLICY_SETTLE_MS;
    let previous = await this.#readOnce();
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      if (typeof previous === 'string' && policyHash(previous) === this.#current.hash) return previous;
      if (settleMs <= 0 || this.#closed) return previous;
      await sleep(settleMs);
      const again = await this.#readOnce();
      const same =
        typeof previous === 'string'
          ? again === previous
          : again instanceof Error && again.message === previous.message;
      if (same) return again;
      previous = again;
    }
    return previous;
  }

  async #readOnce(): Promise<string | Error> {
    try {
      return await readFile(this.file, 'utf8');
    } catch (cause) {
      const reason =
        (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot read file';
      return new ConfigError(`${reason}; the previous policy stays in force`, { file: this.file }, cause);
    }
  }

  #reject(error: Error, hash: string | undefined): PolicyReloadResult {
    if (hash !== undefined) this.#rejected = { hash, error };
    if (rejectedChannel.hasSubscribers) {
      rejectedChannel.publish({ file: this.file, error, inForceHash: this.#current.hash });
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.#log.warn({ err: error }, 'policy change rejected; the previous policy stays in force');
    return { outcome: 'rejected', error };
  }
}

/**
 * Loads the policy file (throws `ConfigError` / `ConfigValidationError` when it is invalid: a
 * connector must not start without a valid policy), records it in the store unless the latest stored
 * version has the same hash, and starts watching it.
 *
 * @example
 * const watcher = await watchPolicy({ file: 'policy.yaml', store: store.policyVersions });
 */
export async function watchPolicy(options: PolicyWatcherOptions): Promise<PolicyWatcher> {
  const file = resolve(options.file);
  const signatureBeforeLoad = await statSignature(file);
  const initial = await loadPolicyFile(file, { maxBytes: options.maxBytes });
  let version: PolicyVersionRecord | undefined;
  if (options.store) {
    const latest = await options.store.latestPolicyVersion();
    version =
      latest?.hash === initial.hash
        ? latest
        : await options.store.recordPolicyVersion({
            hash: initial.hash,
            text: initial.text,
            source: file,
            loadedAt: (options.now ?? Date.now)(),
          });
  }
  const watcher = new PolicyWatcher(initial, version, { ...options, file });
  await watcher.start(signatureBeforeLoad);
  return watcher;
}

/** Identity + size + times of the file, to notice any change (or its absence) cheaply. */
async function statSignature(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
