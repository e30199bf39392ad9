import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cartTotal } from '../src/cart-total.js';

test('an empty cart costs nothing', () => {
  assert.equal(cartTotal([]), 0);
});

test('every line counts, price times quantity', () => {
  assert.equal(cartTotal([{ priceCents: 250, quantity: 2 }, { priceCents: 100, quantity: 3 }]), 800);
});
