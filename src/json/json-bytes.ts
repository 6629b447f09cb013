/**
 * The size of a value as JSON text, in UTF-8 bytes: what the budget stage limits and the audit stage
 * records (`requestBytes`, `responseBytes`).
 *
 * @example
 * jsonBytes({ name: 'é' }) // 13
 * jsonBytes(undefined)     // 0
 */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}
