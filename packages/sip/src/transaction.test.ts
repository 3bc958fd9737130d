// The transaction layer (RFC 3261 §17, RFC 6026) as the proxy drives it, on the core test
// harness with its fake clock: no sockets, no real timers.
import { describe, expect, it } from 'vitest';
import { createSipRig, DOMAIN, getHeader, getHeaders, settle, type TestUa } from './_test-ua.js';
import type { SipRequest, SipResponse } from './message.js';
import { ackFor, cancelFor, clientKey } from './transaction.js';

const requests = (ua: TestUa, method?: string): SipRequest[] => ua.take().filter((m): m is SipRequest => m.kind === 'request' && (method === undefined || m.method === method));
const statuses = (messages: SipResponse[]): number[] => messages.map((m) => m.status);

async function invite(forks = 1) {
  const rig = createSipRig();
  const alice = await rig.registered('alice');
  const bobs: TestUa[] = [];
  for (let i = 0; i < forks; i++) bobs.push(await rig.registered('bob'));
  const text = alice.request('INVITE', `sip:bob@${DOMAIN}`, { headers: [`Contact: <${alice.contact}>`] });
  alice.send(text);
  await settle();
  expect(statuses(alice.responses())).toEqual([100]);
  return { rig, alice, bobs, text, invites: bobs.map((bob) => requests(bob, 'INVITE')[0]!) };
}

describe('INVITE client transaction (§17.1.1)', () => {
  it('times out with 408 when nothing at all comes back (Timer B)', async () => {
    const { rig, alice } = await invite();
    rig.harness.clock.advance(31_000);
    expect(alice.responses()).toEqual([]);
    rig.harness.clock.advance(1500);
    expect(statuses(alice.responses())).toEqual([408]);
    expect(rig.adapter.stats().transactions.client).toBe(0);
  });

  it('stops Timer B at the first provisional: a ringing branch waits for Timer C instead', async () => {
    const { rig, alice, bobs, invites } = await invite();
    bobs[0]!.reply(invites[0]!, 180, { toTag: 't' });
    rig.harness.clock.advance(60_000);
    expect(statuses(alice.responses())).toEqual([180]);
  });

  it('acknowledges a non-2xx final itself with the To tag of the response (§17.1.1.3)', async () => {
    const { alice, bobs, invites } = await invite();
    bobs[0]!.reply(invites[0]!, 486, { toTag: 'busy' });
    const [ack] = requests(bobs[0]!, 'ACK');
    expect(ack!.uri).toBe(invites[0]!.uri);
    expect(getHeader(ack!, 'to')).toMatch(/;tag=busy$/);
    expect(getHeader(ack!, 'cseq')).toMatch(/ ACK$/);
    expect(getHeaders(ack!, 'via')).toEqual([getHeaders(invites[0]!, 'via')[0]]);
    expect(statuses(alice.responses())).toEqual([486]);
  });

  it('lets further 2xx of a forked INVITE through while Accepted (RFC 6026), then ends', async () => {
    const { rig, alice, bobs, invites } = await invite(2);
    bobs[0]!.reply(invites[0]!, 200, { toTag: 'one' });
    // The second fork answered before its CANCEL arrived: its 2xx must reach the caller too.
    bobs[1]!.reply(invites[1]!, 200, { toTag: 'two' });
    expect(statuses(alice.responses())).toEqual([200, 200]);
    rig.harness.clock.advance(33_000);
    expect(rig.adapter.stats().transactions).toEqual({ server: 0, client: 0 });
  });

  it('owes a CANCEL until the branch has rung (§9.1)', async () => {
    const { alice, bobs, invites } = await invite();
    const via = getHeaders(invites[0]!, 'via')[1]!.replace(/;received=[^;]+/, '');
    const cseq = /^(\d+)/.exec(getHeader(invites[0]!, 'cseq')!)![1];
    alice.send(
      [`CANCEL sip:bob@${DOMAIN} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', `To: <sip:bob@${DOMAIN}>`, `From: <${alice.aor}>;tag=${alice.fromTag}`, `Call-ID: ${alice.callId}`, `CSeq: ${cseq} CANCEL`, 'Content-Length: 0', '', ''].join('\r\n'),
    );
    // The caller hears 200 for the CANCEL and, since the branch never rang, 487 at once.
    expect(statuses(alice.responses())).toEqual([200, 487]);
    expect(requests(bobs[0]!, 'CANCEL')).toEqual([]);
    bobs[0]!.reply(invites[0]!, 180, { toTag: 'late' });
    expect(requests(bobs[0]!, 'CANCEL')).toHaveLength(1);
    expect(alice.responses()).toEqual([]);
  });
});

describe('INVITE server transaction (§17.2.1)', () => {
  it('answers a retransmitted INVITE with the last response and absorbs the ACK of a non-2xx', async () => {
    const { alice, bobs, invites, text } = await invite();
    bobs[0]!.reply(invites[0]!, 486, { toTag: 'busy' });
    expect(statuses(alice.responses())).toEqual([486]);
    requests(bobs[0]!);
    alice.send(text);
    await settle();
    expect(statuses(alice.responses())).toEqual([486]);
    expect(requests(bobs[0]!, 'INVITE')).toEqual([]);
    const via = /Via: ([^\r]+)/.exec(text)![1];
    const cseq = /CSeq: (\d+)/.exec(text)![1];
    alice.send([`ACK sip:bob@${DOMAIN} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', `To: <sip:bob@${DOMAIN}>;tag=busy`, `From: <${alice.aor}>;tag=${alice.fromTag}`, `Call-ID: ${alice.callId}`, `CSeq: ${cseq} ACK`, 'Content-Length: 0', '', ''].join('\r\n'));
    // The ACK ends here: the branch already got the proxy's own ACK.
    expect(requests(bobs[0]!)).toEqual([]);
  });
});

describe('requests the layer makes', () => {
  const invite = {
    kind: 'request' as const,
    method: 'INVITE',
    uri: 'sip:b@x.invalid;transport=ws',
    version: 'SIP/2.0',
    headers: [
      { key: 'via', name: 'Via', value: 'SIP/2.0/WS example.com;branch=z9hG4bKa.1' },
      { key: 'via', name: 'Via', value: 'SIP/2.0/WS c.invalid;branch=z9hG4bKc' },
      { key: 'route', name: 'Route', value: '<sip:next;lr>' },
      { key: 'from', name: 'From', value: '<sip:a@example.com>;tag=1' },
      { key: 'to', name: 'To', value: '<sip:b@example.com>' },
      { key: 'call-id', name: 'Call-ID', value: 'c1' },
      { key: 'cseq', name: 'CSeq', value: '7 INVITE' },
      { key: 'content-type', name: 'Content-Type', value: 'application/sdp' },
    ],
    body: 'v=0\r\n',
  };

  it('builds the CANCEL from the INVITE: top Via, Route, same CSeq number, no body (§9.1)', () => {
    const cancel = cancelFor(invite, 'SIP;cause=200');
    expect(cancel.uri).toBe(invite.uri);
    expect(cancel.headers.map((h) => `${h.key}: ${h.value}`)).toEqual([
      'via: SIP/2.0/WS example.com;branch=z9hG4bKa.1',
      'route: <sip:next;lr>',
      'from: <sip:a@example.com>;tag=1',
      'to: <sip:b@example.com>',
      'call-id: c1',
      'cseq: 7 CANCEL',
      'reason: SIP;cause=200',
    ]);
    expect(cancel.body).toBe('');
  });

  it('builds the ACK with the response’s To (§17.1.1.3)', () => {
    const response = { kind: 'response' as const, status: 404, reason: 'Not Found', version: 'SIP/2.0', headers: [{ key: 'to', name: 'To', value: '<sip:b@example.com>;tag=z' }], body: '' };
    const ack = ackFor(invite, response);
    expect(ack.headers.find((h) => h.key === 'to')?.value).toBe('<sip:b@example.com>;tag=z');
    expect(ack.headers.find((h) => h.key === 'cseq')?.value).toBe('7 ACK');
    expect(ack.headers.filter((h) => h.key === 'via')).toHaveLength(1);
  });

  it('matches an ACK to its INVITE and keeps CANCEL apart (§17.1.3)', () => {
    expect(clientKey('z9hG4bK1', 'ACK')).toBe(clientKey('z9hG4bK1', 'INVITE'));
    expect(clientKey('z9hG4bK1', 'CANCEL')).not.toBe(clientKey('z9hG4bK1', 'INVITE'));
  });
});
