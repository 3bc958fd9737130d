// Adapter
export { lines, defaultOptions } from './adapter.js';
export type { LinesOptions } from './adapter.js';

// Codec
export { parseCommand, formatReply, parseReply } from './codec.js';
export type { Command, Reply, ParseResult } from './codec.js';

// Constants
export { PROTOCOL_ID, Verb, ErrorCode } from './constants.js';

// Topics
export { topics } from './topics.js';
