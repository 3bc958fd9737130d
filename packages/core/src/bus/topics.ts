/**
 * Canonical topic rules and the helpers every mapper needs. The syntax is MQTT's (OASIS MQTT 5.0
 * §4.7), so MQTT maps by identity and every other protocol converts into it.
 */

const SEPARATOR = '/';
const SINGLE = '+';
const MULTI = '#';

/**
 * A topic name (what is published to): non-empty, no `+` or `#`, no NUL.
 * [MQTT-4.7.3-1] "All Topic Names and Topic Filters MUST be at least one character long";
 * [MQTT-3.3.2-2] "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters";
 * [MQTT-4.7.3-2] "Topic Names and Topic Filters MUST NOT include the null character (Unicode U+0000)".
 */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0) return false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2b /* + */ || c === 0x23 /* # */ || c === 0) return false;
  }
  return true;
}

/**
 * A topic filter (what is subscribed to).
 * [MQTT-4.7.1-1] "#" "MUST be specified either on its own or following a topic level separator.
 * In either case it MUST be the last character specified in the Topic Filter";
 * [MQTT-4.7.1-2] "+" "MUST occupy an entire level of the filter".
 */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split(SEPARATOR);
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('\u0000')) return false;
    if (level === MULTI) {
      if (i !== levels.length - 1) return false;
      continue;
    }
    if (level === SINGLE) continue;
    if (level.includes(MULTI) || level.includes(SINGLE)) return false;
  }
  return true;
}

/** True when `filter` contains `+` or `#`. */
export function hasWildcard(filter: string): boolean {
  return filter.includes(SINGLE) || filter.includes(MULTI);
}

/**
 * Whether `filter` matches `topic`.
 * [MQTT-4.7.2-1] "The Server MUST NOT match Topic Filters starting with a wildcard character (# or +)
 * with Topic Names beginning with a $ character".
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith(SINGLE) || filter.startsWith(MULTI))) return false;
  const f = filter.split(SEPARATOR);
  const t = topic.split(SEPARATOR);
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    // "sport/#" also matches "sport": # includes the parent level (MQTT 5.0 §4.7.1.2).
    if (level === MULTI) return true;
    if (i >= t.length) return false;
    if (level !== SINGLE && level !== t[i]) return false;
  }
  return f.length === t.length;
}

export function splitTopic(topic: string): string[] {
  return topic.split(SEPARATOR);
}

export function joinTopic(levels: readonly string[]): string {
  return levels.join(SEPARATOR);
}

/**
 * Escapes one native level so it can stand as a canonical level: `%`, `/`, `+`, `#` and NUL are
 * percent-encoded. Reversible with {@link decodeTopicLevel}.
 */
export function encodeTopicLevel(level: string): string {
  return level.replace(/[%/+#\u0000]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function decodeTopicLevel(level: string): string {
  return level.replace(/%(25|2F|2B|23|00)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** How a protocol writes destinations: its separator and wildcards. */
export interface TopicSyntax {
  /** Prefix of the native destination that maps to the canonical root, e.g. `/topic/` for STOMP. */
  readonly prefix?: string;
  /** Level separator, e.g. `.` for STOMP and WAMP. */
  readonly separator: string;
  /** One-level wildcard, e.g. `*` for STOMP, or undefined when the protocol has none. */
  readonly single?: string;
  /** Multi-level wildcard, e.g. `#` for STOMP, or undefined when the protocol has none. */
  readonly multi?: string;
  /**
   * Canonical levels every mapped topic lives under, e.g. `chat` puts native `room.1` at
   * `chat/room/1`, so a protocol's topics do not mix with other protocols' unless a bridge wants
   * them to. Must be a valid topic name without wildcards. @default '' (the canonical root)
   */
  readonly busPrefix?: string;
}

/** A reversible mapping between a protocol's destinations and canonical topics. */
export interface TopicMapper {
  /** Native destination or pattern to canonical topic or filter; undefined when not mappable. */
  toBus(native: string): string | undefined;
  /** Canonical topic or filter to native destination or pattern. */
  fromBus(canonical: string): string;
}

/**
 * A mapper for separator-based protocols (RabbitMQ convention): with
 * `{ prefix: '/topic/', separator: '.', single: '*', multi: '#' }`, `/topic/a.*.c` <-> `a/+/c`.
 * Native levels that contain `/`, `+`, `#` or `%` are percent-encoded so the mapping stays
 * reversible: `fromBus(toBus(x)) === x` for every `x` that `toBus` accepts.
 */
export function createTopicMapper(syntax: TopicSyntax): TopicMapper {
  const prefix = syntax.prefix ?? '';
  const busPrefix = syntax.busPrefix ?? '';
  if (busPrefix !== '' && (!isValidTopicName(busPrefix) || busPrefix.endsWith(SEPARATOR))) {
    throw new TypeError(`busPrefix must be a topic name without wildcards or a trailing '/', got ${JSON.stringify(busPrefix)}`);
  }
  const busHead = busPrefix === '' ? '' : busPrefix + SEPARATOR;
  return {
    toBus(native) {
      if (!native.startsWith(prefix)) return undefined;
      const rest = native.slice(prefix.length);
      if (rest.length === 0) return undefined;
      const levels = rest.split(syntax.separator);
      const out: string[] = [];
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        if (syntax.single !== undefined && level === syntax.single) out.push(SINGLE);
        else if (syntax.multi !== undefined && level === syntax.multi) {
          if (i !== levels.length - 1) return undefined;
          out.push(MULTI);
        } else out.push(encodeTopicLevel(level));
      }
      return busHead + joinTopic(out);
    },
    fromBus(canonical) {
      const own = busHead !== '' && canonical.startsWith(busHead) ? canonical.slice(busHead.length) : canonical;
      const levels = splitTopic(own).map((level) => {
        if (level === SINGLE && syntax.single !== undefined) return syntax.single;
        if (level === MULTI && syntax.multi !== undefined) return syntax.multi;
        return decodeTopicLevel(level);
      });
      return prefix + levels.join(syntax.separator);
    },
  };
}
