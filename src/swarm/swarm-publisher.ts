import type { EventBus } from '../ports/event-bus.js';
import type { ColonyEventMap, ColonyEventType } from '../domain/events.js';

/** The `source` of every swarm event. */
export const SWARM_EVENT_SOURCE = 'swarm';

/** Publishes one swarm's events; the parts of a run share it so every event is sourced and correlated alike. */
export type SwarmPublish = <T extends ColonyEventType>(type: T, data: ColonyEventMap[T]) => void;

export function swarmPublisher(events: EventBus, swarmId: string): SwarmPublish {
  return (type, data) => events.publish(type, data, { source: SWARM_EVENT_SOURCE, correlationId: swarmId });
}
