import { ValidationError } from '../../../domain/errors.js';

/**
 * What only this adapter limits in the MemoryStore port's input. The port's own checks, which every
 * adapter runs, are memory's (memory/memory-store-input.ts).
 */

/** sqlite-vec's own limit on a vector's length. */
export const MAX_EMBEDDING_DIMENSIONS = 8192;

function invalid(message: string): ValidationError {
  return new ValidationError(message, { details: { field: 'vector' } });
}

/** A vector usable for cosine search: 1 to 8192 finite components, not all zero. */
export function checkVector(vector: unknown): Float32Array {
  if (!(vector instanceof Float32Array)) throw invalid('embedding vector must be a Float32Array');
  if (vector.length === 0 || vector.length > MAX_EMBEDDING_DIMENSIONS) {
    throw invalid(`embedding vector has ${vector.length} dimensions; 1 to ${MAX_EMBEDDING_DIMENSIONS} are accepted`);
  }
  let nonZero = false;
  for (const x of vector) {
    if (!Number.isFinite(x)) throw invalid('embedding vector has a component that is not a finite number');
    if (x !== 0) nonZero = true;
  }
  if (!nonZero) throw invalid('embedding vector is all zeros: it has no direction to compare');
  return vector;
}
