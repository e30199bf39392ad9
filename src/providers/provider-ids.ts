/**
 * The provider ids Colony builds itself (registered ones come on top). A module of its own so that
 * input schemas naming providers (consensus, agent tasks) do not load the registry and its resilience
 * library.
 */
export const PROVIDER_IDS = ['anthropic', 'openai', 'claude-code'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];
