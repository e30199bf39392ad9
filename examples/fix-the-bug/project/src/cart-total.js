/** The total of a cart's lines, in cents: each line is { priceCents, quantity }. */
export function cartTotal(lines) {
  let total = 0;
  for (let i = 1; i < lines.length; i++) total += lines[i].priceCents * lines[i].quantity;
  return total;
}
