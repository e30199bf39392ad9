import { describe, expect, it } from 'vitest';
import { formatDuration } from '../src/tasks/duration.js';
import { formatBytes } from '../src/cli/output.js';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [464.3706268215323, '464ms'],
    [999.4, '999ms'],
    [999.7, '1s'],
    [1_234, '1.2s'],
    [30_000, '30s'],
    [59_940, '59.9s'],
    [59_970, '1m0s'],
    [185_000, '3m5s'],
    [119_700, '2m0s'],
    [3_599_600, '1h0m'],
    [7_800_000, '2h10m'],
    [-5, '0ms'],
    [Number.NaN, '0ms'],
  ])('%s ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [812, '812 B'],
    [4_096, '4.0 KiB'],
    [331_776, '324 KiB'],
    [5 * 1024 * 1024 + 300_000, '5.3 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
  ])('%s bytes reads %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
