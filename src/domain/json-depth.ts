/**
 * How deeply JSON nests. Recursive code (schema validation, serialisation, tree walks) runs out of
 * stack on a document nested a hundred thousand levels deep, and such a document is a few hundred
 * kilobytes: every edge refuses excessive nesting before anything recursive looks at it.
 */

/** Deepest nesting of a JSON value Colony keeps (memory values and metadata, task input). */
export const MAX_JSON_DEPTH = 256;

/** Deepest nesting of a whole document at an edge: a value at MAX_JSON_DEPTH inside its envelope (a request body, a JSON-RPC call). */
export const MAX_DOCUMENT_DEPTH = MAX_JSON_DEPTH + 16;

/** Nodes jsonDepthExceeds walks at most (a value sharing one object many times over): beyond, size limits decide. */
const MAX_WALKED_NODES = 10_000_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * The nesting depth of JSON text (brackets and braces outside strings; a scalar is 0), without
 * parsing it. Stops scanning once the depth passes `stopAbove`. Malformed text gets a number too:
 * the parser that runs next reports what is wrong with it.
 */
export function jsonTextDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Whether a parsed value nests more than `max` levels of arrays and objects (a scalar is 0), walked
 * without recursion. A cycle counts as too deep.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > max) return true;
    // A cycle never ends; a tree within `max` levels is walked once per node.
    if (++visited > MAX_WALKED_NODES) return false;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}
