import { describe, expect, it } from 'vitest';
import { validateDag } from '../src/domain/dag.js';
import { ValidationError } from '../src/domain/errors.js';

const node = (id: string, ...dependencies: string[]) => ({ id, dependencies });

describe('validateDag', () => {
  it('returns a topological order in which every dependency comes first', () => {
    const nodes = [node('d', 'b', 'c'), node('b', 'a'), node('c', 'a'), node('a')];
    const order = validateDag(nodes);
    expect(order).toHaveLength(4);
    for (const n of nodes) for (const dep of n.dependencies) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(n.id));
  });

  it('names unknown dependencies', () => {
    expect(() => validateDag([node('a', 'ghost'), node('b', 'a', 'phantom')])).toThrow(/unknown dependencies: a -> ghost, b -> phantom/);
  });

  it('accepts dependencies on known existing tasks', () => {
    expect(validateDag([node('a', 'existing')], (id) => id === 'existing')).toEqual(['a']);
  });

  it('names the tasks of a cycle', () => {
    let error: unknown;
    try {
      validateDag([node('a', 'c'), node('b', 'a'), node('c', 'b'), node('free')]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const cycle = (error as ValidationError).details.cycle as string[];
    expect(new Set(cycle)).toEqual(new Set(['a', 'b', 'c']));
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect((error as Error).message).toMatch(/dependency cycle: [abc] -> [abc] -> [abc] -> [abc]/);
  });

  it('rejects self-dependency and duplicate ids', () => {
    expect(() => validateDag([node('a', 'a')])).toThrow(/a depends on itself/);
    expect(() => validateDag([node('a'), node('a')])).toThrow(/duplicate task id: a/);
  });

  it('handles a long chain without recursion limits', () => {
    const nodes = Array.from({ length: 20_000 }, (_, i) => (i === 0 ? node('n0') : node(`n${i}`, `n${i - 1}`)));
    expect(validateDag(nodes)[19_999]).toBe('n19999');
  });
});
