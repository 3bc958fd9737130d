/**
 * The one topic trie of Protoplex: the in-memory bus indexes its subscriptions in it, and
 * adapters index their own clients' filters in it (the MQTT broker's sessions, STOMP's topic
 * subscriptions), so every protocol matches topics by the same rules at the same cost: the depth
 * of the topic plus the matches found, not the number of filters.
 */

class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  /** Values whose filter ends exactly here. */
  readonly exact = new Set<T>();
  /** Values whose filter ends with `#` right below this node. */
  readonly multi = new Set<T>();

  constructor(
    readonly parent: TrieNode<T> | undefined,
    readonly level: string,
  ) {}

  isEmpty(): boolean {
    return this.children.size === 0 && this.exact.size === 0 && this.multi.size === 0;
  }
}

/**
 * A set of `(filter, value)` pairs matched against topic names with MQTT's rules (OASIS MQTT 5.0
 * §4.7): `+` is one whole level, `#` the rest including the parent level, and filters that start
 * with a wildcard never match topics that start with `$`.
 *
 * Values are compared by identity: keep one value object per subscription. The trie does not
 * check filters; callers validate them first (`isValidTopicFilter`).
 */
export class TopicTrie<T> {
  private readonly root = new TrieNode<T>(undefined, '');
  private count = 0;

  /** Number of `(filter, value)` pairs held. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds `value` under `filter`.
   * @returns false when that pair was already present (nothing changed)
   */
  add(filter: string, value: T): boolean {
    const levels = filter.split('/');
    const multi = levels[levels.length - 1] === '#';
    if (multi) levels.pop();
    let node = this.root;
    for (const level of levels) {
      let child = node.children.get(level);
      if (!child) {
        child = new TrieNode(node, level);
        node.children.set(level, child);
      }
      node = child;
    }
    const set = multi ? node.multi : node.exact;
    if (set.has(value)) return false;
    set.add(value);
    this.count++;
    return true;
  }

  /**
   * Removes `value` from under `filter`, pruning branches left empty.
   * @returns false when the pair was not present
   */
  remove(filter: string, value: T): boolean {
    const levels = filter.split('/');
    const multi = levels[levels.length - 1] === '#';
    if (multi) levels.pop();
    let node: TrieNode<T> | undefined = this.root;
    for (const level of levels) {
      node = node.children.get(level);
      if (!node) return false;
    }
    if (!(multi ? node.multi : node.exact).delete(value)) return false;
    this.count--;
    while (node.parent && node.isEmpty()) {
      node.parent.children.delete(node.level);
      node = node.parent;
    }
    return true;
  }

  /**
   * Calls `visit` once for every value whose filter matches `topic` (a value held under two
   * matching filters is visited twice). `visit` must not add or remove values; collect first.
   * [MQTT-4.7.2-1] "The Server MUST NOT match Topic Filters starting with a wildcard character
   * (# or +) with Topic Names beginning with a $ character."
   */
  match(topic: string, visit: (value: T) => void): void {
    if (this.count === 0) return;
    walk(this.root, topic.split('/'), 0, topic.charCodeAt(0) === 0x24, visit);
  }

  /**
   * Whether any value for which `accept` returns true (every value, without it) matches `topic`.
   * Stops at the first one, so it costs less than `match`.
   */
  some(topic: string, accept?: (value: T) => boolean): boolean {
    if (this.count === 0) return false;
    return find(this.root, topic.split('/'), 0, topic.charCodeAt(0) === 0x24, accept);
  }
}

function walk<T>(node: TrieNode<T>, levels: readonly string[], depth: number, dollar: boolean, visit: (value: T) => void): void {
  const wildcards = !(dollar && depth === 0);
  // "sport/#" also matches "sport": # includes the parent level (MQTT 5.0 §4.7.1.2).
  if (wildcards && node.multi.size > 0) for (const value of node.multi) visit(value);
  if (depth === levels.length) {
    for (const value of node.exact) visit(value);
    return;
  }
  const exact = node.children.get(levels[depth]!);
  if (exact) walk(exact, levels, depth + 1, dollar, visit);
  if (wildcards) {
    const single = node.children.get('+');
    if (single) walk(single, levels, depth + 1, dollar, visit);
  }
}

function any<T>(values: Set<T>, accept: ((value: T) => boolean) | undefined): boolean {
  if (values.size === 0) return false;
  if (!accept) return true;
  for (const value of values) if (accept(value)) return true;
  return false;
}

function find<T>(node: TrieNode<T>, levels: readonly string[], depth: number, dollar: boolean, accept: ((value: T) => boolean) | undefined): boolean {
  const wildcards = !(dollar && depth === 0);
  if (wildcards && any(node.multi, accept)) return true;
  if (depth === levels.length) return any(node.exact, accept);
  const exact = node.children.get(levels[depth]!);
  if (exact && find(exact, levels, depth + 1, dollar, accept)) return true;
  if (!wildcards) return false;
  const single = node.children.get('+');
  return single !== undefined && find(single, levels, depth + 1, dollar, accept);
}
