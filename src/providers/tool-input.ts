import type { InvalidToolInput } from '../ports/provider.js';

/**
 * Parses a model's tool-call arguments. Models do emit broken JSON (truncated at max_tokens, stray
 * text, single quotes); that must not crash the call, so anything that is not a JSON object becomes
 * `{ __invalidJson: raw }` and the runtime reports it back to the model as a tool error. Empty
 * arguments mean "no arguments" (both APIs send "" for a parameterless call).
 */
export function parseToolArguments(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch {
    // fall through: keep the raw text
  }
  const invalid: InvalidToolInput = { __invalidJson: raw };
  return invalid;
}
