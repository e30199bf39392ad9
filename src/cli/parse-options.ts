import { ValidationError } from '../domain/errors.js';
import { jsonTextDepth, MAX_DOCUMENT_DEPTH } from '../domain/json-depth.js';
import { checkPoolNames } from '../domain/task.js';

/** Commander gives strings; these turn them into checked values with errors naming the option. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new ValidationError(`option ${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

export function listOption(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Worker pool names, repeatable or comma-separated, each checked (see `checkPoolNames`). */
export function poolsOption(name: string) {
  return (value: string, previous: string[] = []): string[] => {
    try {
      return checkPoolNames(listOption(value, previous));
    } catch (error) {
      throw new ValidationError(`option ${name}: ${(error as Error).message}`);
    }
  };
}

export function jsonOption(name: string) {
  return (value: string): unknown => {
    if (jsonTextDepth(value, MAX_DOCUMENT_DEPTH) > MAX_DOCUMENT_DEPTH) {
      throw new ValidationError(`option ${name}: JSON nested more than ${MAX_DOCUMENT_DEPTH} levels deep`);
    }
    try {
      return JSON.parse(value);
    } catch (error) {
      throw new ValidationError(`option ${name}: not valid JSON (${(error as Error).message})`);
    }
  };
}
