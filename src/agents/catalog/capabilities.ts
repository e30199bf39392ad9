/**
 * The capability vocabulary of Colony's builtin agent types. Tasks ask for capabilities
 * (`requirements.capabilities`) and the agent manager matches them against these words, so the
 * shipped catalog uses exactly this list: a typo in a builtin file would make an agent unselectable.
 * User files may use other kebab-case words for their own task types; the parser does not reject them.
 */
export const AGENT_CAPABILITIES = [
  // Writing and changing code.
  'code',
  'refactoring',
  'debugging',
  'migration',
  // Checking work.
  'review',
  'test',
  'analysis',
  'security',
  'performance',
  'accessibility',
  // Shaping work before it is built.
  'architecture',
  'planning',
  'requirements',
  'research',
  // Writing for people.
  'documentation',
  'localization',
  // Layers and platforms.
  'frontend',
  'backend',
  'api',
  'cli',
  'mobile',
  'database',
  'data',
  'ml',
  'llm',
  // Running software.
  'devops',
  'infrastructure',
  'observability',
  'release',
  // Working as a swarm.
  'coordination',
  'consensus',
  'aggregation',
  'memory',
] as const;

export type AgentCapability = (typeof AGENT_CAPABILITIES)[number];

const KNOWN: ReadonlySet<string> = new Set(AGENT_CAPABILITIES);

export function isKnownCapability(word: string): word is AgentCapability {
  return KNOWN.has(word);
}
