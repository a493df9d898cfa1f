// Engine API event types, as in moby's api/types/events (field names are the wire names).

export type EventType =
  | 'container'
  | 'image'
  | 'volume'
  | 'network'
  | 'daemon'
  | 'plugin'
  | 'service'
  | 'node'
  | 'secret'
  | 'config'
  | 'builder';

/** The object an event is about (events.Actor). */
export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

/** An event as `GET /events` sends it (events.Message). */
export interface EventMessage {
  /** Deprecated (API < 1.52) but still read by clients: the Action, for container and image events. */
  status?: string;
  /** Deprecated: Actor.ID, for container and image events. */
  id?: string;
  /** Deprecated: the container's image (Attributes.image), for container events. */
  from?: string;
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: 'local' | 'swarm';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds. A double: exact to ~256 ns, which is all JSON.stringify can carry. */
  timeNano: number;
}
