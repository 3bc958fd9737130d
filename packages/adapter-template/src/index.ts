// Adapter
export { lines, linesDefaults } from './adapter.js';
export type { LinesAdapter, LinesOptions } from './adapter.js';
export type { LinesStats } from './hub.js';

// Codec
export { parseCommand, formatCommand, formatReply, parseReply, startsWithVerb } from './codec.js';
export type { Command, Reply, ParseResult } from './codec.js';

// Constants
export { LINES_PROTOCOL, LINES_BUS_PREFIX, Verb, ErrorCode, MetricName } from './constants.js';
export type { LinesFault } from './constants.js';

// Topics
export { linesTopics, createLinesTopics } from './topics.js';
