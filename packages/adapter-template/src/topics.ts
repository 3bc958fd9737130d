/**
 * The lines protocol writes topics with `.` and `*`/`#` wildcards; the bus uses MQTT syntax.
 * Core's mapper keeps the mapping reversible (a `/` inside a level is percent-encoded).
 */
import { createTopicMapper } from '@protoplex/core';

export const topics = createTopicMapper({ separator: '.', single: '*', multi: '#' });
