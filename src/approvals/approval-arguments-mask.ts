/**
 * Approval arguments for display outside the console (the `airlock approvals` CLI): every string and
 * number leaf is masked, keys and structure stay, so a supervisor sees the shape of a call without its
 * values. `--reveal` shows them (and is audited).
 *
 * @example
 * maskApprovalArguments('{"iban":"DE89370400440532013000","amount":250,"urgent":true}')
 * // { iban: '[masked: 22 chars]', amount: '[masked number]', urgent: true }
 */

/** Masks the leaves of the arguments' JSON text (unparseable text is masked whole). */
export function maskApprovalArguments(argumentsText: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(argumentsText);
  } catch {
    return `[masked: ${argumentsText.length} chars]`;
  }
  return maskValue(parsed);
}

function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return `[masked: ${[...value].length} chars]`;
  if (typeof value === 'number') return '[masked number]';
  if (Array.isArray(value)) return value.map(maskValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v)]));
  }
  return value;
}
