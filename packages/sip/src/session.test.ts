import { runConformance } from '@protoplex/core/testing';
import { describe, expect, it } from 'vitest';
import { createSipRig, DOMAIN, getHeader, settle } from './_test-ua.js';
import { recognizeSip, sip } from './adapter.js';

describe('session: transport rules (RFC 7118, RFC 5626)', () => {
  it('answers a double-CRLF ping with one CRLF and ignores a lone CRLF', async () => {
    const rig = createSipRig();
    const ua = await rig.ua('alice');
    ua.peer.send('\r\n\r\n');
    expect(ua.peer.takeText()).toEqual(['\r\n']);
    ua.peer.send(new Uint8Array([13, 10, 13, 10]), true);
    expect(ua.peer.takeText()).toEqual(['\r\n']);
    ua.peer.send('\r\n');
    expect(ua.peer.take()).toEqual([]);
  });

  it('answers a malformed request 400 when a response can be formed, and drops it otherwise', async () => {
    const rig = createSipRig();
    const ua = await rig.ua('alice');
    // A bad Max-Forwards: every header a response needs is there.
    ua.send(ua.request('OPTIONS', `sip:${DOMAIN}`, { maxForwards: null, headers: ['Max-Forwards: many'] }));
    const answer = ua.final();
    expect(answer.status).toBe(400);
    expect(getHeader(answer, 'call-id')).toBe(ua.callId);
    ua.peer.send('this is not SIP at all\r\n\r\n');
    expect(ua.peer.take()).toEqual([]);
    expect(ua.peer.closed).toBeUndefined();
  });

  it('answers a message above maxMessageSize with 513', async () => {
    const rig = createSipRig({ maxMessageSize: 2000, authenticate: false });
    const ua = await rig.ua('alice');
    ua.send(ua.request('MESSAGE', `sip:bob@${DOMAIN}`, { body: 'x'.repeat(3000) }));
    expect(ua.final().status).toBe(513);
  });

  it('closes with 1002 a connection that sends nothing but garbage, and others go on', async () => {
    const rig = createSipRig({ maxBadMessages: 3, authenticate: false });
    const bad = await rig.ua('mallory');
    const good = await rig.ua('alice');
    for (let i = 0; i < 3; i++) bad.peer.send(`garbage ${i}\r\n\r\n`);
    expect(bad.peer.closed).toMatchObject({ code: 1002, by: 'server' });
    good.send(good.request('OPTIONS', `sip:${DOMAIN}`));
    expect(good.final().status).toBe(200);
  });

  it('closes with 1007 when binary messages keep carrying headers that are not UTF-8', async () => {
    const rig = createSipRig({ maxBadMessages: 2, authenticate: false });
    const bad = await rig.ua('mallory');
    const bytes = Buffer.concat([Buffer.from('OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK1\r\nX: '), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n\r\n')]);
    bad.peer.send(bytes, true);
    bad.peer.send(bytes, true);
    expect(bad.peer.closed?.code).toBe(1007);
  });

  it('accepts a binary message whose body is not UTF-8 and relays it as binary', async () => {
    const rig = createSipRig({ authenticate: false });
    const alice = await rig.registered('alice');
    const bob = await rig.registered('bob');
    const body = Buffer.from([0x00, 0xff, 0x80, 0x41]);
    const head = alice.request('MESSAGE', bob.aor, { headers: ['Content-Type: application/octet-stream'] }).replace('Content-Length: 0\r\n\r\n', `Content-Length: ${body.length}\r\n\r\n`);
    alice.peer.send(Buffer.concat([Buffer.from(head), body]), true);
    await settle();
    const [sent] = bob.peer.take();
    expect(sent?.isBinary).toBe(true);
    expect(Buffer.from(sent!.data as Uint8Array).subarray(-4)).toEqual(body);
  });
});

describe('recognition of clients that offer no subprotocol', () => {
  it('claims a SIP request line or status line, and nothing else', () => {
    expect(recognizeSip(`REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: x\r\n`, false)).toBe('sip');
    expect(recognizeSip(new TextEncoder().encode('OPTIONS sips:a@b SIP/2.0\r\n'), true)).toBe('sip');
    expect(recognizeSip('SIP/2.0 200 OK\r\n', false)).toBe('sip');
    expect(recognizeSip('CONNECT\naccept-version:1.2\n\n\0', false)).toBeUndefined();
    expect(recognizeSip('[1,"realm1",{}]', false)).toBeUndefined();
    expect(recognizeSip('GET / HTTP/1.1\r\n', false)).toBeUndefined();
    expect(recognizeSip(new Uint8Array([0x10, 0x0c, 0x00, 0x04]), true)).toBeUndefined();
  });
});

const sample = (method: string, uri: string, extra: string[] = [], body = ''): string =>
  [
    `${method} ${uri} SIP/2.0`,
    'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks;rport',
    'Max-Forwards: 70',
    `To: <sip:alice@${DOMAIN}>`,
    `From: "Alice" <sip:alice@${DOMAIN}>;tag=mc93nfhq`,
    'Call-ID: 5u1hcqvkhfl7mlpf23pk',
    `CSeq: 1 ${method}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');

const REGISTER = sample('REGISTER', `sip:${DOMAIN}`, ['Contact: <sip:b8mg1lra@df7jal23ls0d.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:7c9e2a1f-0d49-4c23-a1f4-2b77f2b7f6a1>";expires=600', 'Supported: path,gruu,outbound']);

// The session is registered (a binding, a bus subscription for its user) before the checks run.
runConformance(() => sip({ domain: DOMAIN, authenticate: false, bus: true, bridge: ['chat'] }), {
  prepare: (peer) => {
    peer.send(REGISTER);
    peer.take();
  },
  samples: [
    REGISTER,
    sample('OPTIONS', `sip:${DOMAIN}`),
    sample('MESSAGE', `sip:chat@${DOMAIN}`, ['Content-Type: text/plain'], 'hello'),
    sample('INVITE', `sip:alice@${DOMAIN}`, ['Contact: <sip:b8mg1lra@df7jal23ls0d.invalid;transport=ws;ob>', 'Content-Type: application/sdp'], 'v=0\r\n'),
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/WS example.com;branch=z9hG4bKx.1\r\nTo: <sip:a@example.com>;tag=1\r\nFrom: <sip:b@example.com>;tag=2\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n',
  ],
});
