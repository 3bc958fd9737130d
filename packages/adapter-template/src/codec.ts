/** Text to typed commands and typed replies to text. Pure: no session state. */
import { MAX_VERB_LENGTH, VERBS, Verb } from './constants.js';

export type Command =
  | { readonly verb: typeof Verb.Ping }
  | { readonly verb: typeof Verb.Echo; readonly text: string }
  | { readonly verb: typeof Verb.Sub | typeof Verb.Unsub; readonly filter: string }
  | { readonly verb: typeof Verb.Pub; readonly topic: string; readonly payload: string };

export type Reply =
  | { readonly type: 'PONG' }
  | { readonly type: 'ECHO'; readonly text: string }
  | { readonly type: 'OK'; readonly verb: string; readonly topic: string }
  | { readonly type: 'MSG'; readonly topic: string; readonly payload: string }
  | { readonly type: 'ERR'; readonly code: string; readonly text: string };

export type ParseResult = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: string };

/** Parses one message. Reports bad input as a value and never throws (STYLE.md §4). */
export function parseCommand(text: string): ParseResult {
  const space = text.indexOf(' ');
  const verb = space === -1 ? text : text.slice(0, space);
  const rest = space === -1 ? '' : text.slice(space + 1);
  switch (verb) {
    case Verb.Ping:
      return rest === '' ? { ok: true, command: { verb } } : { ok: false, error: 'PING takes no argument' };
    case Verb.Echo:
      return { ok: true, command: { verb, text: rest } };
    case Verb.Sub:
    case Verb.Unsub:
      // [LINES-3] a topic filter is one word: no spaces.
      if (rest === '' || rest.includes(' ')) return { ok: false, error: `${verb} takes exactly one topic filter` };
      return { ok: true, command: { verb, filter: rest } };
    case Verb.Pub: {
      const gap = rest.indexOf(' ');
      const topic = gap === -1 ? rest : rest.slice(0, gap);
      if (topic === '') return { ok: false, error: 'PUB needs a topic' };
      return { ok: true, command: { verb, topic, payload: gap === -1 ? '' : rest.slice(gap + 1) } };
    }
    default:
      return { ok: false, error: `unknown command ${JSON.stringify(verb.slice(0, 32))}` };
  }
}

/** The wire form of a command: what a client sends. `parseCommand(formatCommand(c))` gives `c` back. */
export function formatCommand(command: Command): string {
  switch (command.verb) {
    case Verb.Ping:
      return Verb.Ping;
    case Verb.Echo:
      return `${Verb.Echo} ${command.text}`;
    case Verb.Sub:
    case Verb.Unsub:
      return `${command.verb} ${command.filter}`;
    case Verb.Pub:
      return `${Verb.Pub} ${command.topic} ${command.payload}`;
  }
}

/**
 * Whether `text` starts with a verb of the protocol (the whole text, or the verb and a space):
 * first-message recognition for clients that offer no subprotocol. Looks at a few characters
 * only, whatever the length of `text`.
 */
export function startsWithVerb(text: string): boolean {
  const head = text.slice(0, MAX_VERB_LENGTH + 1);
  const space = head.indexOf(' ');
  if (space === -1) return VERBS.has(head) && text.length === head.length;
  return VERBS.has(head.slice(0, space));
}

export function formatReply(reply: Reply): string {
  switch (reply.type) {
    case 'PONG':
      return 'PONG';
    case 'ECHO':
      return `ECHO ${reply.text}`;
    case 'OK':
      return `OK ${reply.verb} ${reply.topic}`;
    case 'MSG':
      return `MSG ${reply.topic} ${reply.payload}`;
    case 'ERR':
      return `ERR ${reply.code} ${reply.text}`;
  }
}

/** Parses a reply; used by tests and by clients written in TypeScript. */
export function parseReply(text: string): Reply | undefined {
  const [type = '', ...rest] = text.split(' ');
  switch (type) {
    case 'PONG':
      return rest.length === 0 ? { type } : undefined;
    case 'ECHO':
      return { type, text: text.slice(5) };
    case 'OK':
      return rest.length === 2 ? { type, verb: rest[0]!, topic: rest[1]! } : undefined;
    case 'MSG':
      return rest.length >= 1 ? { type, topic: rest[0]!, payload: rest.slice(1).join(' ') } : undefined;
    case 'ERR':
      return rest.length >= 1 ? { type, code: rest[0]!, text: rest.slice(1).join(' ') } : undefined;
    default:
      return undefined;
  }
}
