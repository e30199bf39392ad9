import { ValidationError } from '../domain/errors.js';
import type { Provider } from '../ports/provider.js';
import type { ResolvedApiProviderConfig, ResolvedProvidersConfig } from './provider-config.js';
import type { BreakerState, ResilienceEvent, ResilientProvider } from './resilient-provider.js';

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
  claudeCode(config: ResolvedProvidersConfig, run: ClaudeCodeRun, onEvent: (event: ResilienceEvent) => void): Promise<ResilientProvider>;
}

export const PROVIDER_IDS = ['anthropic', 'openai', 'claude-code'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export interface ProviderChoice {
  provider: Provider;
  providerId: ProviderId;
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

  constructor(config: ResolvedProvidersConfig, defaultId: ProviderId, factories: ProviderFactories, onEvent: (event: ResilienceEvent) => void) {
    this.config = config;
    this.factories = factories;
    this.defaultId = defaultId;
    this.onEvent = onEvent;
  }

  /**
   * The provider to use for `id` (default: the configured default) and the model (default: its
   * model). Adapters load on first use: the SDKs cost a few hundred ms to import.
   */
  async get(id?: string, model?: string): Promise<ProviderChoice> {
    const providerId = parseProviderId(id ?? this.defaultId);
    let provider = this.created.get(providerId);
    if (!provider) {
      provider =
        providerId === 'claude-code'
          ? await this.factories.claudeCode(this.config, {}, this.onEvent)
          : await this.factories.api(this.config[providerId], this.onEvent);
      this.created.set(providerId, provider);
    }
    return { provider, providerId, model: model ?? this.defaultModel(providerId) };
  }

  /**
   * The provider for one agent task. API providers are shared; Claude Code is an agent itself, so it
   * gets an instance that runs in the workspace with the agent type's tools (its own tool loop does
   * the work), sharing the registry's event reporting.
   */
  async forAgentTask(id: string | undefined, task: { workspace: string; agentTools: readonly string[]; agentModel: string | null }): Promise<ProviderChoice> {
    if (parseProviderId(id ?? this.defaultId) !== 'claude-code') return this.get(id);
    return this.claudeCodeFor(task.workspace, task.agentTools, task.agentModel ?? undefined);
  }

  private async claudeCodeFor(workspace: string, allowedTools: readonly string[], model?: string): Promise<ProviderChoice> {
    const provider = await this.factories.claudeCode(
      this.config,
      { cwd: workspace, allowedTools: [...allowedTools], ...(allowedTools.length > 0 ? { permissionMode: 'acceptEdits' as const } : {}) },
      this.onEvent,
    );
    return { provider, providerId: 'claude-code', model: model ?? this.defaultModel('claude-code') };
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
