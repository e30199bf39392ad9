import type { Colony } from '../app/colony.js';
import type { ApiKeys } from '../security/api-keys.js';
import type { Authenticator } from '../security/authenticator.js';
import type { EventStreamLimits } from './api-defaults.js';
import type { EventStreamHub } from './event-stream-hub.js';
import type { ApiMetrics } from './metrics.js';

/** What route handlers work with: the colony (the engine) and the server's own parts. */
export interface ApiContext {
  colony: Colony;
  keys: ApiKeys;
  auth: Authenticator;
  hub: EventStreamHub;
  metrics: ApiMetrics;
  streamLimits: EventStreamLimits;
  version: string;
  startedAt: number;
}
