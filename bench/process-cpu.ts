/**
 * CPU time of process trees from /proc (Linux): user + system time of a process and all its live
 * descendants. CPU per call does not depend on how busy the machine is, so it stays meaningful when
 * other work competes for the CPUs (latency and rates do not).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** user + system CPU of one process in ms, or undefined when it is gone. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(' ').map(Number));
    }
  } catch {
    // gone, or not Linux
  }
  return out;
}

/** Every live pid in the trees rooted at `roots`. */
export function processTree(roots: number[]): number[] {
  const seen = new Set<number>();
  const stack = roots.filter((p) => p > 0);
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...childrenOf(pid));
  }
  return [...seen];
}

/** CPU ms of each process tree (keyed by name), read now. */
export function sampleCpu(trees: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, roots] of Object.entries(trees)) {
    out[name] = processTree(roots).reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
  }
  return out;
}

/** Whether /proc CPU accounting works here. */
export function cpuAccountingAvailable(): boolean {
  return processCpuMs(process.pid) !== undefined;
}
