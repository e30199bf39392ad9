/**
 * Reading what a model meant rather than what it literally wrote: names in another case or spacing,
 * an enum value in other words, a share as a percentage. Each helper changes form, never meaning,
 * and gives up (undefined, or the value unchanged) when the meaning is not clear, so that the
 * schema names what is missing.
 */

/** A name as the catalog writes names: `Data Collection`, `data_collection` → `data-collection`. */
export function kebabName(value: string): string {
  return value
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The comparison key of a name: case, spaces, dashes and underscores do not matter. */
export function nameKey(value: string): string {
  return value.toLowerCase().replace(/[\s_.-]+/g, '');
}

/**
 * The option a loosely written value stands for: the option itself in any case or spacing, or a
 * synonym (keys compared the same way). Undefined when nothing, or more than one option, matches.
 */
export function matchOption(value: unknown, options: readonly string[], synonyms: Readonly<Record<string, string>> = {}): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'boolean') return undefined;
  const key = nameKey(String(value).trim().replace(/[.!]+$/, ''));
  if (key === '') return undefined;
  const direct = options.filter((o) => nameKey(o) === key);
  if (direct.length === 1) return direct[0];
  if (direct.length > 1) return undefined;
  for (const [word, option] of Object.entries(synonyms)) if (nameKey(word) === key && options.includes(option)) return option;
  return undefined;
}

/**
 * A share from 0 to 1 written loosely: `0.8`, `"0.8"`, `"80%"`, `"80 %"`. A bare number above 1
 * is not guessed at (80 of what?): it is returned as it is for the schema to refuse.
 */
export function parseShare(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (percent) return Number(percent[1]) / 100;
  if (/^\d*\.?\d+$/.test(text)) return Number(text);
  return value;
}

/** A list given as a single value or a comma-separated string: `"a, b"` → `["a", "b"]`. */
export function asList(value: unknown): unknown {
  if (value === null) return [];
  if (typeof value === 'string') return value.trim() === '' ? [] : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only the keys a strict schema knows: extra fields a model adds carry nothing the answer needs. */
export function pick(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/** Trims a string value; anything else is left as it is. */
export function trimmed(value: unknown): unknown {
  return typeof value === 'string' ? value.trim() : value;
}
