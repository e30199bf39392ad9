import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import { compileUntrustedRegex } from '../src/security/untrusted-regex.js';

describe('compileUntrustedRegex', () => {
  it('matches a pathological pattern in linear time, leaving the event loop free', async () => {
    const regex = compileUntrustedRegex('(a+)+$');
    let timerRan = false;
    const timer = new Promise<void>((resolve) =>
      setImmediate(() => {
        timerRan = true;
        resolve();
      }),
    );
    // JavaScript's RegExp needs about 2^n steps for this; 100,000 characters would never finish.
    const results = [compileUntrustedRegex('(a+)+$').test(`${'a'.repeat(100_000)}!`), regex.test('a'.repeat(100_000)), regex.test('b')];
    expect(results).toEqual([false, true, false]);
    await timer;
    expect(timerRan).toBe(true);
  });

  it('matches like RegExp on ordinary patterns, with the i, m and s flags', () => {
    expect(compileUntrustedRegex('\\bfoo\\d+').test('call foo42()')).toBe(true);
    expect(compileUntrustedRegex('^FOO', 'i').test('foo')).toBe(true);
    expect(compileUntrustedRegex('^FOO').test('foo')).toBe(false);
    expect(compileUntrustedRegex('^b', 'm').test('a\nb')).toBe(true);
    expect(compileUntrustedRegex('^b').test('a\nb')).toBe(false);
    expect(compileUntrustedRegex('a.b', 's').test('a\nb')).toBe(true);
    expect(compileUntrustedRegex('a.b').test('a\nb')).toBe(false);
    expect(compileUntrustedRegex('x', 'gu').test('x')).toBe(true);
    expect(compileUntrustedRegex('(?<word>\\w+)\\/end').test('the/end')).toBe(true);
  });

  it('translates JavaScript escapes RE2 spells differently', () => {
    expect(compileUntrustedRegex('\\u0041\\u{42}').test('xAB')).toBe(true);
    expect(compileUntrustedRegex('\\uD83D\\uDE00').test('smile 😀')).toBe(true);
    expect(compileUntrustedRegex('\\cJ').test('a\nb')).toBe(true);
    expect(compileUntrustedRegex('a[^]b').test('a\nb')).toBe(true);
    expect(compileUntrustedRegex('a[]b').test('ab')).toBe(false);
    expect(compileUntrustedRegex('\\p{Script=Greek}').test('αβγ')).toBe(true);
    expect(compileUntrustedRegex('[\\u0041-\\u0043]').test('B')).toBe(true);
  });

  it('refuses backreferences and lookaround, naming them', () => {
    const refusals: Array<[string, RegExp]> = [
      ['(a)\\1', /backreference \\1 is not supported/],
      ['(?<x>a)\\k<x>', /named backreference/],
      ['foo(?=bar)', /lookahead \(\?=/],
      ['foo(?!bar)', /lookahead \(\?!/],
      ['(?<=a)b', /lookbehind \(\?<=/],
      ['(?<!a)b', /lookbehind \(\?<!/],
    ];
    for (const [pattern, message] of refusals) {
      expect(() => compileUntrustedRegex(pattern), pattern).toThrow(ValidationError);
      expect(() => compileUntrustedRegex(pattern), pattern).toThrow(message);
      expect(() => compileUntrustedRegex(pattern), pattern).toThrow(/linear-time engine \(RE2\)/);
    }
    // Escaped or inside a class, these are literal characters, not lookaround.
    expect(compileUntrustedRegex('\\(?=').test('(=')).toBe(true);
    expect(compileUntrustedRegex('[(?=]').test('=')).toBe(true);
  });

  it('refuses invalid patterns and flags with a ValidationError, not a crash', () => {
    expect(() => compileUntrustedRegex('(unclosed')).toThrow(/invalid regular expression "\(unclosed": missing closing \)/);
    expect(() => compileUntrustedRegex('a++')).toThrow(ValidationError);
    expect(() => compileUntrustedRegex('x{2000}')).toThrow(/invalid repeat count/);
    expect(() => compileUntrustedRegex('abc\\')).toThrow(/lone backslash/);
    expect(() => compileUntrustedRegex('\\u12')).toThrow(/four hex digits/);
    expect(() => compileUntrustedRegex('a', 'x')).toThrow(/unknown regular expression flag "x"/);
    expect(() => compileUntrustedRegex('a', 'ii')).toThrow(/given twice/);
  });
});
