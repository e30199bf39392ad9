import type { ResolvedProvidersConfig } from '../../../providers/provider-config.js';
import { ResilientProvider, type ResilienceOptions } from '../../../providers/resilient-provider.js';
import { CLAUDE_CODE_KILL_GRACE_MS } from './claude-code-defaults.js';
import { ClaudeCodeProvider, type ClaudeCodeProviderOptions } from './claude-code-provider.js';

/** Run-level options that are not part of the `providers.claude-code` config section. */
export type ClaudeCodeFactoryOptions = Omit<ClaudeCodeProviderOptions, 'binary' | 'model' | 'timeoutMs' | 'apiKey' | 'baseUrl'>;

/** Margin given to the process's own timeout (and its SIGTERM/SIGKILL) before the wrapper's fires. */
const WRAPPER_TIMEOUT_MARGIN_MS = 1_000;

/**
 * The claude-code provider from resolved configuration, inside a ResilientProvider like the others.
 *
 * `providers.claude-code` gives the binary, model and timeout; the key and endpoint are the
 * Anthropic ones (providers.anthropic.apiKey / ANTHROPIC_API_KEY, providers.anthropic.baseUrl /
 * ANTHROPIC_BASE_URL), which Claude Code reads from its environment. Without a key, Claude Code
 * falls back to its own login. The wrapper's timeout is set a little beyond the run's own, so a
 * stuck run is killed by the provider (clear message, process group gone) rather than abandoned.
 *
 * createProvider() takes one API provider's config (`ResolvedApiProviderConfig`, with its own key
 * and base URL); the claude-code section has neither, so it is built here instead.
 */
export function createClaudeCodeProvider(
  resolved: Pick<ResolvedProvidersConfig, 'anthropic' | 'claude-code'>,
  run: ClaudeCodeFactoryOptions = {},
  resilience: Omit<ResilienceOptions, 'timeoutMs'> = {},
): ResilientProvider {
  const config = resolved['claude-code'];
  const inner = new ClaudeCodeProvider({
    ...run,
    binary: config.binary,
    model: config.model,
    timeoutMs: config.timeoutMs,
    apiKey: resolved.anthropic.apiKey,
    baseUrl: resolved.anthropic.baseUrl,
  });
  return new ResilientProvider(inner, {
    ...resilience,
    timeoutMs: config.timeoutMs + (run.killGraceMs ?? CLAUDE_CODE_KILL_GRACE_MS) + WRAPPER_TIMEOUT_MARGIN_MS,
  });
}
