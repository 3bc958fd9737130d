import { describe, expect, it } from 'vitest';
import { fc } from '@fast-check/vitest';
import { runCodecProperties } from '@protoplex/core/testing';
import { formatCommand, formatReply, parseCommand, parseReply, type Command, type ParseResult } from './codec.js';
import { Verb } from './constants.js';

// Whole Unicode text, as a WebSocket text message carries it (valid UTF-16: no lone surrogates).
const anyText = fc.string({ unit: 'grapheme', maxLength: 40 });
// [LINES-3] a topic or filter is one non-empty word.
const word = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((value) => !value.includes(' '));

const commands: fc.Arbitrary<Command> = fc.oneof(
  fc.constant({ verb: Verb.Ping }),
  anyText.map((text) => ({ verb: Verb.Echo, text })),
  fc.tuple(fc.constantFrom(Verb.Sub, Verb.Unsub), word).map(([verb, filter]) => ({ verb, filter })),
  fc.tuple(word, anyText).map(([topic, payload]) => ({ verb: Verb.Pub, topic, payload })),
);

runCodecProperties<Command, string, ParseResult>({
  name: 'lines commands',
  frames: commands,
  encode: formatCommand,
  decode: parseCommand,
  framesOf: (result) => (result.ok ? [result.command] : []),
  refusalOf: (result) => (result.ok ? undefined : result.error),
  inputs: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.constantFrom('', ' ', 'PING ', 'SUB', 'SUB a b', 'PUB', 'PUB  x')),
});

describe('lines codec', () => {
  it.each([
    ['PING', { verb: 'PING' }],
    ['ECHO', { verb: 'ECHO', text: '' }],
    ['ECHO  two  spaces ', { verb: 'ECHO', text: ' two  spaces ' }],
    ['SUB a.*.c', { verb: 'SUB', filter: 'a.*.c' }],
    ['PUB a.b', { verb: 'PUB', topic: 'a.b', payload: '' }],
    ['PUB a.b payload with spaces', { verb: 'PUB', topic: 'a.b', payload: 'payload with spaces' }],
  ])('parses %j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['', 'unknown command ""'],
    ['ping', 'unknown command "ping"'],
    ['PING now', 'PING takes no argument'],
    ['SUB', 'SUB takes exactly one topic filter'],
    ['UNSUB a b', 'UNSUB takes exactly one topic filter'],
    ['PUB', 'PUB needs a topic'],
    ['PUB  x', 'PUB needs a topic'],
    ['X'.repeat(100), `unknown command "${'X'.repeat(32)}"`],
  ])('refuses %j with the reason %j', (text, error) => {
    expect(parseCommand(text)).toEqual({ ok: false, error });
  });

  it('formats every reply so that parseReply reads it back', () => {
    const replies = [
      { type: 'PONG' },
      { type: 'ECHO', text: 'a b' },
      { type: 'OK', verb: 'SUB', topic: 'a.*' },
      { type: 'MSG', topic: 'a.b', payload: 'x y' },
      { type: 'ERR', code: 'bad-topic', text: 'a.#.b' },
    ] as const;
    for (const reply of replies) expect(parseReply(formatReply(reply))).toEqual(reply);
  });
});
