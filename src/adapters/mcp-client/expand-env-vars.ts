/**
 * `${VAR}` and `${VAR:-default}` in a string, as Claude Code expands them in `.mcp.json`: the
 * variable's value, else the default; a variable that is unset with no default is reported (by
 * name), not replaced by an empty string.
 */

const REFERENCE = /\$\{([^}:]+)(?::-([^}]*))?\}/g;

export interface Expanded {
  value: string;
  /** Variables that were unset and had no default. */
  missing: string[];
}

export function expandEnvVars(text: string, env: NodeJS.ProcessEnv): Expanded {
  const missing: string[] = [];
  const value = text.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
    const set = env[name];
    if (set !== undefined) return set;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return whole;
  });
  return { value, missing };
}
