/**
 * Destinations: what a STOMP destination header names, and the reversible mapping between
 * `/topic/` destinations and canonical bus topics (RabbitMQ convention: `/topic/a.b` <-> `a/b`,
 * `*` <-> `+`, `#` <-> `#`). Pure.
 *
 * @see https://www.rabbitmq.com/docs/stomp#d
 */
import { createTopicMapper, isValidTopicFilter, isValidTopicName, type TopicMapper } from '@protoplex/core';
import { DestinationPrefix } from './constants.js';

/** `/topic/a.*.c` <-> `a/+/c`; levels holding `/`, `+`, `#` or `%` are percent-encoded. */
export const stompTopics: TopicMapper = createTopicMapper({ prefix: DestinationPrefix.Topic, separator: '.', single: '*', multi: '#' });

/** A destination header, classified. */
export type Destination =
  | { readonly kind: 'topic'; readonly destination: string }
  | { readonly kind: 'queue'; readonly destination: string; readonly name: string }
  | { readonly kind: 'temp-queue'; readonly destination: string; readonly name: string }
  | { readonly kind: 'reply-queue'; readonly destination: string; readonly name: string };

/** Classifies a destination by prefix; undefined for a destination this broker does not serve. */
export function parseDestination(destination: string): Destination | undefined {
  if (destination.startsWith(DestinationPrefix.Topic)) {
    return destination.length > DestinationPrefix.Topic.length ? { kind: 'topic', destination } : undefined;
  }
  for (const kind of ['queue', 'temp-queue', 'reply-queue'] as const) {
    const prefix = kind === 'queue' ? DestinationPrefix.Queue : kind === 'temp-queue' ? DestinationPrefix.TempQueue : DestinationPrefix.ReplyQueue;
    if (destination.startsWith(prefix)) {
      const name = destination.slice(prefix.length);
      return name.length > 0 ? { kind, destination, name } : undefined;
    }
  }
  return undefined;
}

/** The canonical topic a SEND to `/topic/...` publishes to; undefined when it holds wildcards or is empty. */
export function toBusTopic(destination: string): string | undefined {
  const topic = stompTopics.toBus(destination);
  return topic !== undefined && isValidTopicName(topic) ? topic : undefined;
}

/** The canonical filter a SUBSCRIBE to `/topic/...` listens on; undefined when it is not a valid filter. */
export function toBusFilter(destination: string): string | undefined {
  const filter = stompTopics.toBus(destination);
  return filter !== undefined && isValidTopicFilter(filter) ? filter : undefined;
}

/** The `/topic/...` destination of a canonical topic. */
export function fromBusTopic(topic: string): string {
  return stompTopics.fromBus(topic);
}
