import type { AgentTypeDefinition } from '../../domain/agent.js';
import { ValidationError } from '../../domain/errors.js';
import { parseAgentTypeInput, type AgentTypeInput } from './parse-agent-file.js';

export interface AgentTypeRegistryOptions {
  /** Problems with a definition beyond its own fields (MCP servers its tools name that are not configured), one sentence each. */
  check?: (definition: AgentTypeDefinition) => string[];
}

/**
 * Agent types a program defines in code (`colony.agentTypes.register`), validated like agent files.
 * They form the catalog's last layer: a code type overrides a builtin or project file of its name.
 */
export class AgentTypeRegistry {
  private readonly types = new Map<string, AgentTypeDefinition>();
  readonly #check: AgentTypeRegistryOptions['check'];

  constructor(options: AgentTypeRegistryOptions = {}) {
    this.#check = options.check;
  }

  /** Validates and registers a type; throws ValidationError naming the bad field, or for a name already registered in code. */
  register(input: AgentTypeInput): AgentTypeDefinition {
    const definition = parseAgentTypeInput(input);
    const [problem] = this.#check?.(definition) ?? [];
    if (problem !== undefined) throw new ValidationError(problem, { details: { agentType: definition.name, field: 'tools' } });
    if (this.types.has(definition.name)) {
      throw new ValidationError(`an agent type named "${definition.name}" is already registered in code`, { details: { agentType: definition.name } });
    }
    this.types.set(definition.name, definition);
    return definition;
  }

  /** A type registered in code, by name. */
  get(name: string): AgentTypeDefinition | undefined {
    return this.types.get(name);
  }

  /** The types registered in code, in registration order. */
  list(): AgentTypeDefinition[] {
    return [...this.types.values()];
  }

  get size(): number {
    return this.types.size;
  }

  /** A catalog's types with these laid over them (by name). */
  overlay(types: ReadonlyMap<string, AgentTypeDefinition>): ReadonlyMap<string, AgentTypeDefinition> {
    if (this.types.size === 0) return types;
    return new Map([...types, ...this.types]);
  }
}
