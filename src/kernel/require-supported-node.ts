import { ConfigError } from '../domain/errors.js';
import { unsupportedNodeMessage } from './node-version.js';

/**
 * Imported first by the library's entry (src/index.ts): ES modules run in import order, so this
 * throws before any module that needs Node 24 runs. (Modules must also *link* on an old Node for
 * that to work: `node:sqlite` is loaded on first use, not imported statically.)
 */
const message = unsupportedNodeMessage();
if (message !== null) {
  const error = new ConfigError(message);
  // Where it was thrown says nothing to the person reading it: the sentence is the whole story.
  error.stack = `${error.name}: ${message}`;
  throw error;
}
