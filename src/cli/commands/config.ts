import { relative } from 'node:path';
import { Document, isScalar, isSeq, visit } from 'yaml';
import { loadCliConfig, type GlobalOptions } from '../cli-context.js';
import { effectiveConfig, type ValueSource } from '../effective-config.js';
import { color, printJson, println } from '../output.js';

/**
 * `colony config show`: the effective configuration (defaults, file, environment and flags merged,
 * providers resolved as the engine resolves them), each value with where it came from. Keys, tokens
 * and passwords are never printed: a secret that is set reads "set".
 */
export async function configShowCommand(options: GlobalOptions): Promise<void> {
  const loaded = loadCliConfig(options);
  const { values, sources } = effectiveConfig(loaded, options, process.env);
  const file = loaded.file ?? null;
  if (options.json) return printJson({ file, config: values, sources });
  println(color.dim(`# effective configuration${file ? `; file: ${file}` : '; no config file'}; after each value, where it came from`));
  const doc = new Document(values);
  visit(doc, {
    Pair(_, pair, path) {
      if (!(isScalar(pair.value) || isSeq(pair.value)) || !isScalar(pair.key)) return;
      const key = [...path.flatMap((node) => (isPairWithScalarKey(node) ? [String(node.key.value)] : [])), String(pair.key.value)].join('.');
      const source = sources[key];
      if (!source) return;
      if (isSeq(pair.value)) pair.value.flow = true;
      const unset = key.endsWith('.apiKey') && isScalar(pair.value) && pair.value.value === null;
      pair.value.comment = ` ${unset ? 'not set' : describe(source, loaded.config.projectDir)}`;
    },
  });
  process.stdout.write(doc.toString());
}

function isPairWithScalarKey(node: unknown): node is { key: { value: unknown } } {
  const key = (node as { key?: unknown } | null)?.key;
  return key !== undefined && isScalar(key);
}

function describe(source: ValueSource, projectDir: string): string {
  if (source.source === 'default') return 'default';
  if (source.source === 'file') {
    const rel = relative(projectDir, source.name);
    return rel.startsWith('..') ? source.name : rel;
  }
  return source.name;
}
