import { ValidationError } from '../domain/errors.js';
import { PROVIDER_IDS, type ProviderId } from './provider-ids.js';
import type { Tracer } from '../ports/tracer.js';
import { traced } from './traced-provider.js';
import { DEFAULT_MAX_QUEUED_CALLS, DEFAULT_REGISTERED_MAX_CONCURRENCY } from './provider-defaults.js';
import { ProviderSlots } from './provider-slots.js';
import { wholeProvider, type RegistrableProvider } from './whole-provider.js';
import type { Provider } from '../ports/provider.js';
import type { ResolvedApiProviderConfig, ResolvedProvidersConfig } from './provider-config.js';
import { ResilientProvider, type BreakerState, type ResilienceEvent, type ResilienceOptions } from './resilient-provider.js';

/** How Claude Code runs for one agent task: in its workspace, with the agent type's tools. */
export interface ClaudeCodeRun {
  cwd?: string;
  allowedTools?: string[];
  permissionMode?: 'acceptEdits';
}

/**
 * Builds the vendor adapters, each inside a ResilientProvider with its own breaker and bulkhead. The
 * composition root supplies them (`app/create-provider.ts`); they load the SDKs on first use.
 */
export interface ProviderFactories {
  api(config: ResolvedApiProviderConfig, onEvent: (event: ResilienceEvent) => void): Promise<ResilientProvider>;
  /** `slots`: the process's one limit on Claude Code runs, shared by every run's wrapper. */
  claudeCode(config: ResolvedProvidersConfig, run: ClaudeCodeRun, onEvent: (event: ResilienceEvent) => void, slots: ProviderSlots): Promise<ResilientProvider>;
}

export { PROVIDER_IDS, type ProviderId };

export interface ProviderChoice {
  provider: Provider;
  /** A configured provider's id, or the id a program registered its own provider under. */
  providerId: string;
  model: string;
}

/** Ids a program may register its own providers under (they appear in task input and events). */
export const REGISTERED_PROVIDER_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** How a program's own provider is registered (see `ProviderRegistry.register`). */
export interface RegisterProviderOptions {
  /** The id agents, swarms and tasks name it by; default: `provider.id`. */
  id?: string;
  /** The model used when a call names none; default `default`. */
  model?: string;
  /** Make it the colony's default provider (what tasks naming no provider use). */
  default?: boolean;
  /** Timeout, retries, breaker and concurrency of its resilience wrapper (Colony's defaults otherwise). */
  resilience?: Omit<ResilienceOptions, 'onEvent'>;
}

/** A provider a program registered, as `ProviderRegistry.registered()` lists it. */
export interface RegisteredProviderInfo {
  id: string;
  model: string;
  isDefault: boolean;
  breaker: BreakerState;
}

interface RegisteredProvider {
  provider: ResilientProvider;
  model: string;
}

export interface ProviderInfo {
  id: ProviderId;
  /** The API endpoint, or for claude-code the binary that is run. */
  baseUrl: string | null;
  model: string | null;
  /** Whether an API key is configured; the key itself is never shown. */
  keyConfigured: boolean;
  /** Null until the provider has been used in this process. */
  breaker: BreakerState | null;
}

/**
 * The configured LLM providers of one colony, each created on first use with its own circuit breaker
 * and concurrency limit (so a failing provider never drags down another).
 */
export class ProviderRegistry {
  private readonly config: ResolvedProvidersConfig;
  private readonly onEvent: (event: ResilienceEvent) => void;
  private readonly defaultId: ProviderId;
  private readonly created = new Map<ProviderId, ResilientProvider>();
  private readonly factories: ProviderFactories;
  private readonly registeredProviders = new Map<string, RegisteredProvider>();
  private registeredDefault: string | null = null;
  /** Claude Code runs are processes: one limit for all of this process's runs, whichever task's wrapper makes them. */
  private readonly claudeCodeSlots: ProviderSlots;
  /** Model calls through the providers it hands out are spans (none when absent or off). */
  private readonly tracer: Tracer | undefined;

  constructor(config: ResolvedProvidersConfig, defaultId: ProviderId, factories: ProviderFactories, onEvent: (event: ResilienceEvent) => void, tracer?: Tracer) {
    this.tracer = tracer;
    this.config = config;
    this.factories = factories;
    this.defaultId = defaultId;
    this.onEvent = onEvent;
    this.claudeCodeSlots = new ProviderSlots(config['claude-code'].maxConcurrency, DEFAULT_MAX_QUEUED_CALLS);
  }

  /**
   * The provider to use for `id` (default: the configured default) and the model (default: its
   * model). Adapters load on first use: the SDKs cost a few hundred ms to import.
   */
  async get(id?: string, model?: string): Promise<ProviderChoice> {
    const wanted = id ?? this.registeredDefault ?? this.defaultId;
    const own = this.registeredProviders.get(wanted);
    if (own) return { provider: traced(own.provider, wanted, this.tracer), providerId: wanted, model: model ?? own.model };
    const providerId = this.parseId(wanted);
    let provider = this.created.get(providerId);
    if (!provider) {
      provider =
        providerId === 'claude-code'
          ? await this.factories.claudeCode(this.config, {}, this.onEvent, this.claudeCodeSlots)
          : await this.factories.api(this.config[providerId], this.onEvent);
      this.created.set(providerId, provider);
    }
    return { provider: traced(provider, providerId, this.tracer), providerId, model: model ?? this.defaultModel(providerId) };
  }

  /**
   * The provider for one agent task. API providers are shared; Claude Code is an agent itself, so it
   * gets an instance that runs in the workspace with the agent type's tools (its own tool loop does
   * the work), sharing the registry's event reporting.
   */
  async forAgentTask(id: string | undefined, task: { workspace: string; agentTools: readonly string[]; agentModel: string | null }): Promise<ProviderChoice> {
    const wanted = id ?? this.registeredDefault ?? this.defaultId;
    if (this.registeredProviders.has(wanted) || this.parseId(wanted) !== 'claude-code') return this.get(id);
    return this.claudeCodeFor(task.workspace, task.agentTools, task.agentModel ?? undefined);
  }

  private async claudeCodeFor(workspace: string, allowedTools: readonly string[], model?: string): Promise<ProviderChoice> {
    const provider = await this.factories.claudeCode(
      this.config,
      { cwd: workspace, allowedTools: [...allowedTools], ...(allowedTools.length > 0 ? { permissionMode: 'acceptEdits' as const } : {}) },
      this.onEvent,
      this.claudeCodeSlots,
    );
    return { provider: traced(provider, 'claude-code', this.tracer), providerId: 'claude-code', model: model ?? this.defaultModel('claude-code') };
  }

  /**
   * Registers a program's own Provider object under an id, so that agents, swarms and tasks use it by
   * that id like a configured one: it is wrapped in the same ResilientProvider (timeout, retries,
   * circuit breaker, bulkhead; its breaker changes and retries become events), and agent tasks meter
   * and record its usage like any other. Throws ValidationError for a bad or taken id.
   */
  register(provider: RegistrableProvider, options: RegisterProviderOptions = {}): ResilientProvider {
    const id = options.id ?? (provider as RegistrableProvider | undefined)?.id;
    if (typeof id !== 'string' || !REGISTERED_PROVIDER_ID_PATTERN.test(id)) {
      throw new ValidationError(`provider id ${JSON.stringify(id)} is invalid: use lowercase letters, digits, ".", "_" and "-" (at most 64 characters)`, {
        details: { provider: id },
      });
    }
    if ((PROVIDER_IDS as readonly string[]).includes(id) || this.registeredProviders.has(id)) {
      throw new ValidationError(`a provider with the id "${id}" already exists; register it under another id`, { details: { provider: id } });
    }
    // Under the registered id, whatever the object calls itself; a missing half made of the other.
    const inner = wholeProvider(id, provider);
    const model = options.model ?? 'default';
    if (typeof model !== 'string' || model.trim() === '') throw new ValidationError(`provider "${id}": model must be a non-empty string`, { details: { provider: id } });
    const resilient = new ResilientProvider(inner, { maxConcurrency: DEFAULT_REGISTERED_MAX_CONCURRENCY, ...options.resilience, onEvent: this.onEvent });
    this.registeredProviders.set(id, { provider: resilient, model });
    if (options.default === true) this.registeredDefault = id;
    return resilient;
  }

  /** The providers a program registered, in registration order. */
  registered(): RegisteredProviderInfo[] {
    return [...this.registeredProviders].map(([id, entry]) => ({ id, model: entry.model, isDefault: this.registeredDefault === id, breaker: entry.provider.breakerState() }));
  }

  /** Whether `id` names a configured or a registered provider. */
  has(id: string): boolean {
    return this.registeredProviders.has(id) || (PROVIDER_IDS as readonly string[]).includes(id);
  }

  /** Every provider id tasks may name: the configured ones, then the registered ones. */
  ids(): string[] {
    return [...PROVIDER_IDS, ...this.registeredProviders.keys()];
  }

  private parseId(id: string): ProviderId {
    if ((PROVIDER_IDS as readonly string[]).includes(id)) return id as ProviderId;
    throw new ValidationError(`unknown provider "${id}"; known providers: ${this.ids().join(', ')}`, { details: { provider: id } });
  }

  /** Claude Code picks its own model unless one is configured ('default' tells it to). */
  defaultModel(id: ProviderId): string {
    return id === 'claude-code' ? (this.config['claude-code'].model ?? 'default') : this.config[id].model;
  }

  /** The resolved configuration, for adapters built per task (e.g. Claude Code in a workspace). */
  get resolved(): ResolvedProvidersConfig {
    return this.config;
  }

  list(): ProviderInfo[] {
    return PROVIDER_IDS.map((id) => ({
      id,
      baseUrl: id === 'claude-code' ? this.config[id].binary : this.config[id].baseUrl,
      model: id === 'claude-code' ? this.config[id].model : this.config[id].model,
      // Claude Code uses the Anthropic key (or its own login when there is none).
      keyConfigured: (id === 'claude-code' ? this.config.anthropic.apiKey : this.config[id].apiKey) !== null,
      breaker: this.created.get(id)?.breakerState() ?? null,
    }));
  }

  get defaultProvider(): ProviderId {
    return this.defaultId;
  }
}

export function parseProviderId(id: string): ProviderId {
  if ((PROVIDER_IDS as readonly string[]).includes(id)) return id as ProviderId;
  throw new ValidationError(`unknown provider "${id}"; known providers: ${PROVIDER_IDS.join(', ')}`, { details: { provider: id } });
}
