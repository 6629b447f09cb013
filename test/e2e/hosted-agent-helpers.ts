/** Small helpers of the hosted-agent test: a temporary directory, PEM lines, polling with a deadline. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function makeTempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The 64-character lines of a PEM body (any one found in another process's memory would be a leak). */
export function pemLines(pem: string): Buffer[] {
  return pem
    .split('\n')
    .filter((line) => line.length === 64 && !line.startsWith('-----'))
    .map((line) => Buffer.from(line));
}

/** Polls `check` until it is true; throws `message` after `limitMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  limitMs: number,
  message: string,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${message} within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
