import type { TokenUsage } from '../ports/provider.js';

/**
 * Published list prices, USD per million tokens, standard tier (no batch discount, no caching
 * discount), as of PRICES_AS_OF. Sources: Anthropic's pricing and model pages
 * (platform.claude.com/docs), OpenAI's pricing page. A model not listed here has no price:
 * estimateCostUsd returns null rather than a guess, so a report can say "unknown" instead of
 * showing a wrong number. Local models (Ollama, vLLM, ...) are deliberately absent.
 */

export const PRICES_AS_OF = '2026-11-01';

export interface ModelPrice {
  inputPerMillionUsd: number;
  outputPerMillionUsd: number;
}

const price = (inputPerMillionUsd: number, outputPerMillionUsd: number): ModelPrice => ({ inputPerMillionUsd, outputPerMillionUsd });

export const MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  // Anthropic
  'claude-fable-5-1': price(10, 50),
  'claude-fable-5': price(10, 50),
  'claude-mythos-5-1': price(10, 50),
  'claude-mythos-5': price(10, 50),
  'claude-opus-5': price(5, 25),
  'claude-sonnet-5-5': price(2, 10),
  'claude-sonnet-5': price(2, 10),
  'claude-opus-4-8': price(5, 25),
  'claude-opus-4-7': price(5, 25),
  'claude-opus-4-6': price(5, 25),
  'claude-opus-4-5': price(5, 25),
  'claude-opus-4-1': price(15, 75),
  'claude-opus-4-0': price(15, 75),
  'claude-opus-4': price(15, 75),
  'claude-sonnet-4-6': price(3, 15),
  'claude-sonnet-4-5': price(3, 15),
  'claude-sonnet-4-0': price(3, 15),
  'claude-sonnet-4': price(3, 15),
  'claude-3-7-sonnet': price(3, 15),
  'claude-haiku-4-5': price(1, 5),
  'claude-3-5-haiku': price(0.8, 4),
  'claude-3-haiku': price(0.25, 1.25),
  // OpenAI
  'gpt-5.1': price(1.25, 10),
  'gpt-5': price(1.25, 10),
  'gpt-5-mini': price(0.25, 2),
  'gpt-5-nano': price(0.05, 0.4),
  'gpt-4.1': price(2, 8),
  'gpt-4.1-mini': price(0.4, 1.6),
  'gpt-4.1-nano': price(0.1, 0.4),
  'gpt-4o': price(2.5, 10),
  'gpt-4o-2024-05-13': price(5, 15),
  'gpt-4o-mini': price(0.15, 0.6),
  o3: price(2, 8),
  'o3-mini': price(1.1, 4.4),
  'o4-mini': price(1.1, 4.4),
};

/** Dated snapshots (claude-sonnet-4-5-20250929, gpt-4.1-2025-04-14) cost what their alias costs,
 * unless listed themselves (gpt-4o-2024-05-13 does not). */
const SNAPSHOT_SUFFIX = /-(\d{8}|\d{4}-\d{2}-\d{2})$/;

export function modelPrice(model: string): ModelPrice | null {
  const exact = MODEL_PRICES[model];
  if (exact) return exact;
  const alias = model.replace(SNAPSHOT_SUFFIX, '');
  return alias === model ? null : (MODEL_PRICES[alias] ?? null);
}

/** Cost of one call in USD, or null when the model's price is not known. */
export function estimateCostUsd(model: string, usage: TokenUsage): number | null {
  const known = modelPrice(model);
  if (!known) return null;
  return (usage.inputTokens * known.inputPerMillionUsd + usage.outputTokens * known.outputPerMillionUsd) / 1_000_000;
}
