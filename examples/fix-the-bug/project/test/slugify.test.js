import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify } from '../src/slugify.js';

test('words are joined by single dashes', () => {
  assert.equal(slugify('  hello,   world  '), 'hello-world');
});

test('slugs are lower case', () => {
  assert.equal(slugify('Fix The Bug'), 'fix-the-bug');
});
