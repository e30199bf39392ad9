/**
 * Limits and cadences of the agent runtime, in one place. The task input and the executor's
 * configuration override the per-task limits; the rest are internal.
 */

/** Model round-trips one agent run may take before it fails. */
export const AGENT_DEFAULT_MAX_TURNS = 40;

/** Token budget of one agent task: input plus output tokens over all its turns. */
export const AGENT_DEFAULT_MAX_TOKENS = 1_000_000;

/** Upper bound on the tokens the model may generate in one turn. */
export const AGENT_DEFAULT_MAX_OUTPUT_TOKENS_PER_TURN = 8_192;

/** The agent type used when neither the assigned agent nor the task names one. */
export const AGENT_DEFAULT_TYPE = 'coder';

/** A tool result longer than this is cut (with a note) before it goes back to the model. */
export const TOOL_RESULT_MAX_CHARS = 60_000;

/** How much of a turn's text an `agent.turn` event carries (the transcript keeps all of it). */
export const TURN_EVENT_TEXT_MAX_CHARS = 500;

/** Streamed text is published as `agent.output` at most this often... */
export const OUTPUT_EVENT_INTERVAL_MS = 100;
/** ...or as soon as this many bytes are waiting. */
export const OUTPUT_EVENT_MAX_BYTES = 2_048;

/** Entries list_files returns when the model does not say. */
export const LIST_DEFAULT_MAX_ENTRIES = 500;
/** Matches search_files returns when the model does not say. */
export const SEARCH_DEFAULT_MAX_RESULTS = 100;

/** Messages read_inbox returns when the model does not say, and at most. */
export const INBOX_DEFAULT_LIMIT = 20;
export const INBOX_MAX_LIMIT = 100;
/** Longest message body send_message accepts. */
export const MESSAGE_MAX_CHARS = 20_000;

/** Longest raw tool-argument text quoted back to the model when it is not valid JSON. */
export const INVALID_JSON_QUOTE_CHARS = 500;

