/** The machine and software a benchmark ran on, measured at run time. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  /** 1-minute load average when the run started and when it ended. */
  loadAverageStart: number;
  loadAverageEnd?: number;
  ulimitNoFile: string;
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

function noFileLimit(): string {
  try {
    return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGiB: Math.round((os.freemem() / 1024 ** 3) * 10) / 10,
    os: osName(),
    kernel: os.release(),
    node: process.version,
    loadAverageStart: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    ulimitNoFile: noFileLimit(),
  };
}

/** Versions of the packages the benchmark exercises (as installed under `root`). */
export function packageVersions(root: string): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const name of [
    '@modelcontextprotocol/server',
    '@modelcontextprotocol/client',
    '@modelcontextprotocol/node',
    'undici',
    'supergateway',
  ]) {
    // Some packages do not export their package.json: read it from node_modules, else resolve it.
    const candidates = [join(root, 'node_modules', name, 'package.json')];
    try {
      candidates.push(require.resolve(`${name}/package.json`));
    } catch {
      // not exported
    }
    out[name] = 'not installed';
    for (const file of candidates) {
      try {
        out[name] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
        break;
      } catch {
        // next candidate
      }
    }
  }
  return out;
}

/** The commit of the working tree (and whether it has local changes), when git is there. */
export function sourceRevision(root: string): string {
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head} + local changes` : head;
  } catch {
    return 'unknown';
  }
}
