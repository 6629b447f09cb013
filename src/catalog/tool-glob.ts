/**
 * Glob patterns for tool, prompt and resource names, compiled once with `picomatch` (anchored: a
 * pattern matches the whole name). `*` matches any run of characters except `/` (so `erp.*` matches
 * `erp.list_claims` and `erp.a.b`), `**` also crosses `/` (for resource URIs: `erp://claims/**`),
 * `?` one character, `{a,b}` alternatives, `[abc]` classes. Matching is case-sensitive. A leading `!`
 * (negation) is not supported: an allow-list entry can never mean "everything except".
 *
 * @example
 * const isErp = compileGlobs(['erp.*', 'everything.echo']);
 * isErp('erp.list_claims') // true
 * isErp('everything.add')  // false
 */
import picomatch from 'picomatch/posix.js';

/** A compiled set of patterns: true when any of them matches the whole name. */
export type NameMatcher = (name: string) => boolean;

/** POSIX build: backslashes are never path separators, whatever the platform. */
const OPTIONS: picomatch.PicomatchOptions = { dot: true, nonegate: true };

/** Why a pattern is refused, or undefined when it is acceptable. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'a pattern must not be empty';
  if (pattern.startsWith('!'))
    return 'negated patterns ("!…") are not supported; use `tier: block` to refuse a tool';
  if (/[\s]/.test(pattern)) return 'a pattern must not contain whitespace';
  try {
    picomatch.makeRe(pattern, OPTIONS);
  } catch (cause) {
    return `invalid pattern: ${(cause as Error).message}`;
  }
  return undefined;
}

/**
 * Compiles one pattern. Throws `TypeError` for a pattern `globProblem` refuses.
 *
 * @example
 * compileGlob('erp.delete_*')('erp.delete_claim') // true
 */
export function compileGlob(pattern: string): NameMatcher {
  const problem = globProblem(pattern);
  if (problem) throw new TypeError(`${JSON.stringify(pattern)}: ${problem}`);
  const isMatch = picomatch(pattern, OPTIONS);
  return (name) => isMatch(name);
}

/**
 * Compiles a list of patterns into one matcher; an empty list matches nothing.
 *
 * @example
 * compileGlobs([])('anything') // false
 */
export function compileGlobs(patterns: readonly string[]): NameMatcher {
  if (patterns.length === 0) return () => false;
  const matchers = patterns.map(compileGlob);
  return (name) => matchers.some((m) => m(name));
}
