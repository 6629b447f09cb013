/**
 * A parser as a fast-check target: an input generator and the invariants that must hold for *any*
 * input. Shared by the property tests (test/adversarial/parsers-property.test.ts) and the fuzz loop
 * (scripts/fuzz.ts).
 *
 * @example
 * const details = checkTarget(policyTarget, { numRuns: 200, seed: 42 });
 */
import fc from 'fast-check';

export interface ParserTarget<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** Throws (an assertion error) when an invariant is violated. */
  check(input: T): void;
}

/** Runs `target` through fast-check; returns its RunDetails (never throws). */
export function checkTarget<T>(target: ParserTarget<T>, parameters: fc.Parameters<[T]>) {
  return fc.check(
    fc.property(target.arbitrary, (input) => {
      target.check(input);
    }),
    parameters,
  );
}
