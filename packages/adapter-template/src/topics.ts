/**
 * The `lines` protocol writes topics with `.` between levels and `*` / `#` as wildcards; the bus
 * uses MQTT syntax. Core's mapper keeps the mapping reversible (a `/` inside a level is
 * percent-encoded) and puts every topic under a bus prefix, so `room.*` is `lines/room/+` on the
 * bus: the protocol's topics stay apart from other protocols' unless a deployment mounts them at
 * the root (`lines({ busPrefix: '' })`).
 */
import { createTopicMapper, type TopicMapper } from '@protoplex/core';
import { LINES_BUS_PREFIX } from './constants.js';

/** The mapper for topics under `busPrefix` (`''`: the canonical root). */
export function createLinesTopics(busPrefix: string): TopicMapper {
  return createTopicMapper({ separator: '.', single: '*', multi: '#', busPrefix });
}

/** The default mapping: `a.*.c` <-> `lines/a/+/c`, `a.#` <-> `lines/a/#`. */
export const linesTopics: TopicMapper = createLinesTopics(LINES_BUS_PREFIX);
