/**
 * Reads another process's memory (Linux `/proc/<pid>/maps` + `/proc/<pid>/mem`; root, or the parent of
 * the process) and counts occurrences of byte patterns in its readable private memory: the heap, the
 * V8 heap, stacks and every anonymous mapping. Mapped files (the node binary, libraries) are skipped:
 * they hold code, never data the process received.
 */
import { open, readFile } from 'node:fs/promises';

const CHUNK = 8 * 1024 * 1024;

interface Region {
  start: number;
  end: number;
}

/** Readable anonymous / heap / stack regions of `pid`. */
export async function readableRegions(pid: number): Promise<Region[]> {
  const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
  const regions: Region[] = [];
  for (const line of maps.split('\n')) {
    const [range, perms, , , , path = ''] = line.trim().split(/\s+/);
    if (!range || !perms?.startsWith('r')) continue;
    if (path !== '' && path !== '[heap]' && !path.startsWith('[stack') && !path.startsWith('[anon')) continue;
    const [start, end] = range.split('-').map((h) => Number.parseInt(h, 16));
    if (start === undefined || end === undefined) continue;
    regions.push({ start, end });
  }
  return regions;
}

/**
 * Counts occurrences of each needle in the memory of `pid`. Returns the counts (same order as
 * `needles`) and the number of bytes scanned.
 */
export async function scanProcessMemory(
  pid: number,
  needles: Buffer[],
): Promise<{ counts: number[]; scanned: number }> {
  const counts = needles.map(() => 0);
  const overlap = Math.max(...needles.map((n) => n.length)) - 1;
  const mem = await open(`/proc/${pid}/mem`, 'r');
  let scanned = 0;
  try {
    for (const region of await readableRegions(pid)) {
      let carry = Buffer.alloc(0);
      for (let at = region.start; at < region.end; at += CHUNK) {
        const size = Math.min(CHUNK, region.end - at);
        const chunk = Buffer.alloc(size);
        let read = 0;
        try {
          ({ bytesRead: read } = await mem.read(chunk, 0, size, at));
        } catch {
          break; // a region that went away or cannot be read (guard pages)
        }
        scanned += read;
        const window = Buffer.concat([carry, chunk.subarray(0, read)]);
        needles.forEach((needle, i) => {
          counts[i] = (counts[i] ?? 0) + occurrences(window, needle, carry.length);
        });
        carry = Buffer.from(window.subarray(Math.max(0, window.length - overlap)));
      }
    }
  } finally {
    await mem.close();
  }
  return { counts, scanned };
}

/** Occurrences of `needle` in `haystack` that end after `minEnd` (so overlaps are not counted twice). */
function occurrences(haystack: Buffer, needle: Buffer, minEnd: number): number {
  let count = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + 1)) {
    if (i + needle.length > minEnd) count++;
  }
  return count;
}
