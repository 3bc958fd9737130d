/**
 * RFC 4475 through the whole server, not the parser alone: each torture message is sent on a
 * WebSocket connection to a registrar and proxy for example.com (where `user` is registered),
 * and the test checks the answer the server gives. torture.test.ts checks the parser's view of
 * the same files; this one checks the layers that own what the parser lets through (§3.2-3.4),
 * and that none of the messages hurts the connection or the others.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSipRig, settle } from './_test-ua.js';

const dir = new URL('./fixtures/rfc4475/', import.meta.url);
const bytes = (name: string): Buffer => readFileSync(new URL(`${name}.dat`, dir));

/**
 * What the server answers each message with: a status, or `null` for "dropped" (responses that
 * match no transaction, and requests too broken to answer). Messages whose answer depends on
 * authentication are sent to an open server (`authenticate: false`) so the rule under test is
 * what decides.
 */
const EXPECTED: Record<string, number | null> = {
  // §3.1.1 valid messages: the proxy's own verdict on each.
  wsinv: 403, // sip:vivekg@chair-dnrc.example.com: another domain, which this server does not relay to
  intmeth: 480, // to example.com's `user`, who has no binding
  esc01: 403, // to sip:...@example.net
  escnull: 200, // REGISTER, open registrar
  esc02: 403, // to registrar.example.com, which is not this server
  lwsdisp: 480,
  longreq: 480,
  dblreq: 400, // RFC 7118 §5: one SIP message per WebSocket message; bytes after the body are refused
  semiuri: 480,
  transports: 480,
  mpart01: 403, // to example.org
  unreason: null, // a response that matches no transaction
  noreason: null,
  // §3.1.2 invalid messages.
  badinv01: 400,
  clerr: 400,
  ncl: 400, // a negative Content-Length
  scalar02: 400,
  scalarlg: null,
  quotbal: 400,
  ltgtruri: 400,
  lwsruri: 400,
  lwsstart: 400,
  trws: 400,
  escruri: 400,
  baddate: 480, // RFC 4475 §3.1.2.13: no need to reject for a Date nobody reads
  regbadct: 400,
  badaspec: 400,
  baddn: 400,
  badvers: 505,
  mismatch01: 400,
  mismatch02: 400,
  bigcode: null,
  // §3.2 transaction layer: a branch that is only the magic cookie is matched the RFC 2543 way.
  badbranch: 480,
  // §3.3 application layer.
  insuf: null, // no To, From, Call-ID: no response can be formed
  unkscm: 416,
  novelsc: 416,
  unksm2: 400,
  bext01: 420,
  invut: 480,
  regaut01: 200, // an Authorization in an unknown scheme is ignored by an open registrar
  multi01: 400,
  mcl01: 400,
  bcast: null,
  zeromf: 200, // OPTIONS with Max-Forwards 0: the proxy may answer it itself (§16.3 step 3)
  cparam01: 200,
  cparam02: 200,
  regescrt: 200,
  sdp01: 480,
  // §3.4 backward compatibility.
  inv2543: 480,
};

const files = readdirSync(dir)
  .filter((file) => file.endsWith('.dat'))
  .map((file) => file.slice(0, -4))
  .sort();

describe('RFC 4475 torture messages through the server', () => {
  it('knows an expected answer for every fixture', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const name of files) {
    it(`${name}: ${EXPECTED[name] === null ? 'dropped' : EXPECTED[name]}`, async () => {
      const rig = createSipRig({ authenticate: false, maxBadMessages: 100 });
      // example.com's `user` is offline (480 for requests to it); other users are the same.
      const ua = await rig.ua('tester');
      ua.peer.send(bytes(name), true);
      await settle();
      // Read raw: a 400 copies the request's broken header as it came, so it may not parse.
      const answers = ua.peer.takeText();
      const finals = answers.filter((text) => !/^SIP\/2\.0 1\d\d /.test(text));
      const expected = EXPECTED[name];
      if (expected === null) expect(answers).toEqual([]);
      else {
        expect(finals.map((text) => Number(text.slice(8, 11)))).toEqual([expected]);
        // A response goes back with the request's Call-ID and Via (§8.2.6.2), whatever else was wrong.
        expect(finals[0]).toMatch(/\r\n(Call-ID|i)[ \t]*:[ \t]*\S/i);
        expect(finals[0]).toMatch(/\r\n(Via|v)[ \t]*:[ \t]*SIP[ \t]*\//i);
      }
      // Nothing in the file hurts the connection: it still answers an OPTIONS.
      expect(ua.peer.closed).toBeUndefined();
      ua.send(ua.request('OPTIONS', 'sip:example.com'));
      expect(ua.final().status).toBe(200);
    });
  }
});
