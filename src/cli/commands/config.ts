import { redactConfig } from '../../providers/secret.js';
import { loadCliConfig, type GlobalOptions } from '../cli-context.js';
import { color, printJson, println } from '../output.js';
import { stringify } from 'yaml';

/** Shows the effective configuration (defaults, file, environment and flags merged) and its file. */
export async function configShowCommand(options: GlobalOptions): Promise<void> {
  const loaded = loadCliConfig(options);
  const file = loaded.file;
  // Keys, tokens and secrets (and passwords inside URLs) are never printed.
  const config = redactConfig({
    ...loaded.config,
    memory: { ...loaded.config.memory, redisUrl: loaded.config.memory.redisUrl?.replace(/\/\/[^@/]*@/, '//[redacted]@') ?? null },
  });
  if (options.json) return printJson({ file: file ?? null, config });
  println(color.dim(`# effective configuration${file ? `; file: ${file}` : '; no config file (defaults)'}`));
  process.stdout.write(stringify(config));
}
