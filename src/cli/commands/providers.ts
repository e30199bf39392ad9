import type { ProviderRegistry } from '../../providers/provider-registry.js';
import { formatDuration } from '../../tasks/duration.js';
import { createProviderRegistry } from '../../app/provider-factories.js';
import { loadCliConfig, type GlobalOptions } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, printJson, printTable, println } from '../output.js';

/** Providers need configuration only, not the database: nothing is created by looking at them. */
function registry(options: GlobalOptions): ProviderRegistry {
  const { config } = loadCliConfig(options);
  return createProviderRegistry(config, process.env, (event) => {
    if (event.type === 'retry' && !options.json) {
      process.stderr.write(color.yellow(`↻ ${event.provider}: ${event.error.message}; retry ${event.attempt} in ${formatDuration(event.delayMs)}\n`));
    }
  });
}

/** `colony providers list`: what is configured (never a key, only whether one is set). */
export async function providersListCommand(options: GlobalOptions): Promise<void> {
  const providers = registry(options);
  const list = providers.list().map((p) => ({ ...p, default: p.id === providers.defaultProvider }));
  if (options.json) return printJson(list);
  printTable(
    ['PROVIDER', 'DEFAULT', 'ENDPOINT', 'MODEL', 'KEY'],
    list.map((p) => [p.id, p.default ? '*' : '', p.baseUrl ?? '-', p.model ?? '(its own default)', p.keyConfigured ? 'set' : color.dim('not set')]),
  );
}

/**
 * `colony providers test [id]`: one small completion through the full stack (timeouts, retries,
 * breaker), reporting latency and usage, or the error; exit 1 when the provider does not answer.
 */
export async function providersTestCommand(id: string | undefined, options: GlobalOptions & { model?: string }): Promise<number> {
  {
    const { provider, providerId, model } = await registry(options).get(id, options.model);
    const started = performance.now();
    try {
      const response = await provider.complete({
        model,
        maxTokens: 32,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Reply with the single word: ready' }] }],
      });
      const ms = Math.round(performance.now() - started);
      const text = response.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('').trim();
      const report = { provider: providerId, model: response.model, ok: true, latencyMs: ms, usage: response.usage, reply: text };
      if (options.json) printJson(report);
      else println(`${color.green('✓')} ${providerId} answered in ${formatDuration(ms)} (${response.model}, ${response.usage.inputTokens} in / ${response.usage.outputTokens} out): ${JSON.stringify(text)}`);
      return EXIT.ok;
    } catch (error) {
      const e = error as { code?: string; message: string; details?: Record<string, unknown> };
      if (options.json) printJson({ provider: providerId, model, ok: false, error: { code: e.code ?? 'internal', message: e.message } });
      else println(`${color.red('✗')} ${providerId} (${model}) did not answer: ${e.message}`);
      return EXIT.failed;
    }
  }
}
