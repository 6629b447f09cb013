/** The stored arguments of an approval request, read without ever throwing. */

/**
 * The stored arguments JSON (an unreadable value is shown as such, never thrown).
 *
 * @example
 * parseArguments('{"amount":50}') // { amount: 50 }
 */
export function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { '(unreadable arguments)': text.slice(0, 200) };
  }
}
