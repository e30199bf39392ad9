/**
 * Bounds on the numbers that come in from outside (REST, CLI, MCP, config files, workflow YAML,
 * agents' tools). Each edge checks durations and instants against these once, so that no value
 * accepted today overflows a timer, a Date or a stored integer later.
 */

/** setTimeout's longest delay (2^31-1 ms, about 24.8 days); a longer one fires at once with a TimeoutOverflowWarning. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The longest a memory entry may be kept: ten years. */
export const MAX_MEMORY_TTL_MS = 10 * 365 * 24 * 3_600_000;

/** The latest instant a Date can show (epoch ms, in the year 275760); stored times are kept within ±this. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;

/** The largest spending budget accepted, in US dollars. */
export const MAX_BUDGET_USD = 1_000_000;

/** "24.8 days" for the messages that name a bound. */
export function describeMs(ms: number): string {
  const days = ms / 86_400_000;
  if (days >= 365) return `${Math.round(days / 365)} years`;
  if (days >= 1) return `${Math.round(days * 10) / 10} days`;
  return `${ms} ms`;
}
