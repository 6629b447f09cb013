/**
 * Reads another process's memory (Linux `/proc/<pid>/maps` + `/proc/<pid>/mem`; root, or the parent of
 * the process) and counts occurrences of byte patterns in its readable private memory: the heap, the
 * V8 heap, stacks and every anonymous mapping. Mapped files (the node binary, libraries) are skipped:
 * they hold code, never data the process received.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
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

/** The 64-character lines of a PEM body (any one found in memory would be a leak). */
function pemLines(pem: string): Buffer[] {
  return pem
    .split('\n')
    .filter((line) => line.length === 64 && !line.startsWith('-----'))
    .map((line) => Buffer.from(line));
}

function der(keyPem: string): Buffer {
  return createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
}

/**
 * Asserts that relay process `pid` holds 0 bytes of `canary` (utf8 and utf16le) and of the tenant's
 * private keys (DER and every PEM line), while the positive controls — the tenant host name and a
 * line of the relay's own key — are found (so the scan demonstrably works).
 */
export async function assertRelayMemoryBlind(
  pid: number,
  s: { canary: string; tenantKeyPems: string[]; relayKeyPem: string; tenantHost: string; who: string },
): Promise<void> {
  const secrets: Array<[string, Buffer]> = [
    ['canary (utf8)', Buffer.from(s.canary, 'utf8')],
    ['canary (utf16le)', Buffer.from(s.canary, 'utf16le')],
  ];
  s.tenantKeyPems.forEach((pem, k) => {
    secrets.push([`tenant key ${k} (DER)`, der(pem)]);
    for (const line of pemLines(pem)) secrets.push([`tenant key ${k} (PEM line)`, line]);
  });
  const controls: Array<[string, Buffer]> = [
    ['tenant host', Buffer.from(s.tenantHost)],
    ['relay server key (PEM line)', pemLines(s.relayKeyPem)[0] ?? Buffer.alloc(0)],
  ];
  assert.ok(secrets.length > 6 && (controls[1]?.[1].length ?? 0) === 64);
  const needles = [...secrets, ...controls];
  const { counts, scanned } = await scanProcessMemory(
    pid,
    needles.map(([, bytes]) => bytes),
  );
  assert.ok(scanned > 10 * 1024 * 1024, `scanned only ${scanned} bytes`);
  needles.forEach(([name], i) => {
    if (i < secrets.length) assert.equal(counts[i], 0, `${name} found in ${s.who}'s memory`);
    else assert.ok((counts[i] ?? 0) > 0, `positive control "${name}" not found: the scan does not work`);
  });
}
