/**
 * Cheap checks on a JSON-RPC request body before anything parses it: the bytes must be valid UTF-8
 * (a lossy decode would forward U+FFFD to upstreams) and the nesting must stay below a bound (deeply
 * nested input is a classic parser and validator stressor). One pass over the bytes, no allocation
 * beyond the decode.
 *
 * @example
 * const problem = checkJsonBody(bytes, { maxDepth: 64 }); // undefined, or { kind, message }
 */

/** Deepest array/object nesting accepted in a request body. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** What is wrong with a body: its bytes (`encoding`, a parse error) or its shape (`depth`, an invalid request). */
export interface JsonBodyProblem {
  kind: 'encoding' | 'depth';
  message: string;
}

export function checkJsonBody(
  bytes: Uint8Array,
  options: { maxDepth?: number } = {},
): JsonBodyProblem | undefined {
  try {
    decoder.decode(bytes);
  } catch {
    return { kind: 'encoding', message: 'the request body is not valid UTF-8' };
  }
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      depth++;
      if (depth > maxDepth) {
        return { kind: 'depth', message: `JSON nesting deeper than ${maxDepth} levels is not accepted` };
      }
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return undefined;
}
