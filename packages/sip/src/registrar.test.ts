import { describe, expect, it } from 'vitest';
import { createSipRig, DOMAIN, getHeader, getHeaders, settle } from './_test-ua.js';
import type { SipRegistrationChange } from './types.js';

describe('registrar: digest (RFC 3261 §22, RFC 8760)', () => {
  it('challenges with one line per algorithm, SHA-256 first and MD5 last', async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    alice.send(alice.request('REGISTER', `sip:${DOMAIN}`, { to: alice.aor, headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    const challenge = alice.final();
    expect(challenge.status).toBe(401);
    const lines = getHeaders(challenge, 'www-authenticate');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Digest realm="example\.com", nonce="[^"]+", algorithm=SHA-256, qop="auth"/);
    expect(lines[1]).toMatch(/algorithm=MD5/);
    expect(getHeader(challenge, 'to')).toMatch(/;tag=/);
  });

  it('registers with the right password and lists the binding', async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    const ok = await alice.register({ expires: 600 });
    expect(ok.status).toBe(200);
    expect(getHeaders(ok, 'contact')).toEqual([`<${alice.contact}>;expires=600`]);
    expect(getHeader(ok, 'date')).toBeDefined();
    expect(rig.adapter.stats().registrations).toMatchObject([{ aor: 'sip:alice@example.com', contact: alice.contact, connectionId: alice.peer.connection.id }]);
  });

  it('challenges again after a wrong password, and for an unknown user (§22.4)', async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    expect((await alice.register({ password: 'wrong' })).status).toBe(401);
    const mallory = await rig.ua('mallory', 'whatever');
    expect((await mallory.register()).status).toBe(401);
    expect(rig.adapter.stats().registrations).toEqual([]);
  });

  it("refuses with 403 credentials that are not the AOR's own (§10.3 step 4)", async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    const target = `sip:${DOMAIN}`;
    const bobAor = 'sip:bob@example.com';
    alice.send(alice.request('REGISTER', target, { to: bobAor, from: bobAor, headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    const challenge = getHeaders(alice.final(), 'www-authenticate')[1]!;
    alice.send(alice.request('REGISTER', target, { to: bobAor, from: bobAor, headers: [`Contact: <${alice.contact}>`, `Authorization: ${alice.authorization(challenge, 'REGISTER', target)}`] }));
    await settle();
    expect(alice.final().status).toBe(403);
  });

  it('says stale=true to a right answer on an old nonce (RFC 7616 §3.3)', async () => {
    const rig = createSipRig({ nonceLifetime: 1000 });
    const alice = await rig.ua('alice');
    const target = `sip:${DOMAIN}`;
    alice.send(alice.request('REGISTER', target, { to: alice.aor, headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    const challenge = getHeaders(alice.final(), 'www-authenticate')[1]!;
    rig.harness.clock.advance(2000);
    alice.send(alice.request('REGISTER', target, { to: alice.aor, headers: [`Contact: <${alice.contact}>`, `Authorization: ${alice.authorization(challenge, 'REGISTER', target)}`] }));
    await settle();
    const again = alice.final();
    expect(again.status).toBe(401);
    expect(getHeaders(again, 'www-authenticate').every((line) => /stale=true/i.test(line))).toBe(true);
  });

  it('refuses a replayed nonce count', async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    const target = `sip:${DOMAIN}`;
    alice.send(alice.request('REGISTER', target, { to: alice.aor, headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    const challenge = getHeaders(alice.final(), 'www-authenticate')[1]!;
    const authorization = `Authorization: ${alice.authorization(challenge, 'REGISTER', target)}`;
    alice.send(alice.request('REGISTER', target, { to: alice.aor, headers: [`Contact: <${alice.contact}>`, authorization] }));
    await settle();
    expect(alice.final().status).toBe(200);
    alice.send(alice.request('REGISTER', target, { to: alice.aor, headers: [`Contact: <${alice.contact}>`, authorization] }));
    await settle();
    expect(alice.final().status).toBe(401);
  });

  it('registers anyone with authentication off', async () => {
    const rig = createSipRig({ authenticate: false });
    const zed = await rig.ua('zed');
    expect((await zed.register()).status).toBe(200);
  });

  it('asks the authenticate hook, which may answer HA1 and be async', async () => {
    const { createHash } = await import('node:crypto');
    const ha1 = createHash('md5').update('dora:example.com:secret').digest('hex');
    const rig = createSipRig({ authenticate: async ({ username }) => (username === 'dora' ? { ha1: { MD5: ha1 } } : undefined) });
    const dora = await rig.ua('dora', 'secret');
    expect((await dora.register()).status).toBe(200);
  });
});

describe('registrar: bindings (RFC 3261 §10.3)', () => {
  it('refuses an interval below the minimum with 423 and Min-Expires, and cuts a long one', async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    const brief = await alice.register({ expires: 10 });
    expect(brief.status).toBe(423);
    expect(getHeader(brief, 'min-expires')).toBe('60');
    const long = await alice.register({ expires: 99999 });
    expect(getHeaders(long, 'contact')[0]).toMatch(/;expires=3600$/);
  });

  it('refreshes one binding, removes it with expires=0, and reports each change', async () => {
    const changes: SipRegistrationChange[] = [];
    const rig = createSipRig({ onRegistration: (change) => changes.push(change) });
    const alice = await rig.ua('alice');
    await alice.register({ expires: 600 });
    await alice.register({ expires: 300 });
    expect(rig.adapter.stats().registrations).toHaveLength(1);
    const gone = await alice.register({ expires: 0 });
    expect(gone.status).toBe(200);
    expect(getHeaders(gone, 'contact')).toEqual([]);
    expect(changes.map((c) => `${c.type}:${c.reason ?? ''}`)).toEqual(['added:', 'refreshed:', 'removed:unregistered']);
  });

  it('removes every binding with `*` and Expires: 0, and refuses `*` otherwise', async () => {
    const rig = createSipRig();
    const one = await rig.registered('alice');
    const two = await rig.registered('alice');
    expect(rig.adapter.stats().registrations).toHaveLength(2);
    expect((await two.register({ contact: '*' })).status).toBe(400);
    expect((await two.register({ contact: '*', headers: ['Expires: 0'] })).status).toBe(200);
    expect(rig.adapter.stats().registrations).toEqual([]);
    void one;
  });

  it('keeps several contacts of one AOR and lists them all in the 200', async () => {
    const rig = createSipRig();
    const one = await rig.registered('alice');
    const two = await rig.ua('alice');
    const ok = await two.register();
    expect(getHeaders(ok, 'contact').map((c) => c.slice(1, c.indexOf('>')))).toEqual([one.contact, two.contact]);
  });

  it('refuses an out-of-order CSeq on the same Call-ID with 500', async () => {
    const rig = createSipRig({ authenticate: false });
    const alice = await rig.ua('alice');
    const target = `sip:${DOMAIN}`;
    alice.send(alice.request('REGISTER', target, { to: alice.aor, cseq: 5, headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    expect(alice.final().status).toBe(200);
    alice.send(alice.request('REGISTER', target, { to: alice.aor, cseq: 4, headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    expect(alice.final().status).toBe(500);
  });

  it('drops the bindings of a connection that closes', async () => {
    const changes: SipRegistrationChange[] = [];
    const rig = createSipRig({ onRegistration: (change) => changes.push(change) });
    const alice = await rig.registered('alice');
    alice.peer.close(1000);
    expect(rig.adapter.stats().registrations).toEqual([]);
    expect(changes.at(-1)).toMatchObject({ type: 'removed', reason: 'closed' });
  });

  it('lets a binding lapse at its expiry', async () => {
    const changes: SipRegistrationChange[] = [];
    const rig = createSipRig({ onRegistration: (change) => changes.push(change) });
    await rig.registered('alice', { expires: 60 });
    rig.harness.clock.advance(59_000);
    expect(rig.adapter.stats().registrations).toHaveLength(1);
    rig.harness.clock.advance(2000);
    expect(rig.adapter.stats().registrations).toEqual([]);
    expect(changes.at(-1)).toMatchObject({ type: 'removed', reason: 'expired' });
  });

  it('refuses an extension it does not have with 420 (§10.3 step 2), and a foreign domain with 404', async () => {
    const rig = createSipRig({ authenticate: false });
    const alice = await rig.ua('alice');
    alice.send(alice.request('REGISTER', `sip:${DOMAIN}`, { to: alice.aor, headers: ['Require: foo, outbound', `Contact: <${alice.contact}>`] }));
    await settle();
    const refused = alice.final();
    expect(refused.status).toBe(420);
    expect(getHeader(refused, 'unsupported')).toBe('foo');
    alice.send(alice.request('REGISTER', 'sip:elsewhere.org', { to: 'sip:alice@elsewhere.org', headers: [`Contact: <${alice.contact}>`] }));
    await settle();
    expect(alice.final().status).toBe(404);
  });
});

describe('registrar: Outbound (RFC 5626) and GRUU (RFC 5627)', () => {
  const instance = '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"';

  it('applies Outbound: Require outbound, Flow-Timer, and one binding per instance and reg-id', async () => {
    const rig = createSipRig();
    const first = await rig.ua('alice');
    const ok = await first.register({ contactParams: `;reg-id=1;+sip.instance=${instance}`, headers: ['Supported: path, gruu, outbound'] });
    expect(ok.status).toBe(200);
    expect(getHeader(ok, 'require')).toBe('outbound');
    expect(getHeader(ok, 'flow-timer')).toBe('120');
    // The same instance and reg-id on a new connection (a reconnect) replaces the binding.
    const again = await rig.ua('alice');
    await again.register({ contactParams: `;reg-id=1;+sip.instance=${instance}`, headers: ['Supported: outbound'] });
    const bindings = rig.adapter.stats().registrations;
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({ contact: again.contact, regId: 1, instance: '<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>', connectionId: again.peer.connection.id });
  });

  it('hands out a public and a temporary GRUU when asked', async () => {
    const rig = createSipRig();
    const alice = await rig.ua('alice');
    const ok = await alice.register({ contactParams: `;+sip.instance=${instance}`, headers: ['Supported: gruu'] });
    const contact = getHeaders(ok, 'contact')[0]!;
    expect(contact).toContain('pub-gruu="sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"');
    expect(contact).toMatch(/temp-gruu="sip:tgruu\.[^@]+@example\.com;gr"/);
  });
});
