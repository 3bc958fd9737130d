/**
 * The registrar (RFC 3261 §10.3) with Outbound (RFC 5626 §6) and GRUU (RFC 5627 §3): bindings of
 * an address of record to contacts, each tied to the flow its REGISTER came on, since over
 * WebSocket that flow is the only way to reach the contact (RFC 7118 §5.2). A binding ends when
 * it expires, when the UA removes it, or when its WebSocket closes.
 */
import { randomBytes } from 'node:crypto';
import type { Watched } from '@protoplex/core';
import type { Flow } from './flow.js';
import { parseContacts, parseNameAddr, quote, type NameAddr } from './headers.js';
import { getHeader, getHeaders, type SipRequest } from './message.js';
import type { ServerTransaction } from './transaction.js';
import type { SipBindingInfo, SipRegistrationChange } from './types.js';
import { aorOf, parseUri, uriEquals, type SipUri } from './uri.js';

export interface Binding {
  readonly aor: string;
  readonly user: string;
  /** The contact URI as the UA wrote it (JsSIP finds its binding in the 200 by this URI's user part). */
  contact: string;
  contactUri: SipUri;
  /** `+sip.instance` without its quotes: `<urn:uuid:...>`. */
  readonly instance: string | undefined;
  readonly regId: number | undefined;
  /** Outbound (RFC 5626): keyed by instance and reg-id, and the flow is the way to the UA. */
  readonly outbound: boolean;
  /** RFC 5627: the temporary GRUU's user part, when the UA asked for GRUU. */
  readonly tempGruu: string | undefined;
  callId: string;
  cseq: number;
  expiresAt: number;
  flow: Flow;
  q: string | undefined;
  userAgent: string | undefined;
}

export interface RegistrarOptions {
  readonly domain: string;
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxBindings: number;
  readonly flowTimer: number;
  readonly now: () => number;
  readonly onChange: (change: SipRegistrationChange, binding: Binding) => void;
}

/** What a REGISTER asks, once its contacts are read (or why it cannot be done). */
type Plan = { status: number; reason?: string; headers?: [string, string][] } | { contacts: '*' | ContactPlan[] };

interface ContactPlan {
  readonly nameAddr: NameAddr;
  readonly uri: SipUri;
  readonly expires: number;
  readonly instance: string | undefined;
  readonly regId: number | undefined;
}

const supports = (request: SipRequest, tag: string): boolean =>
  getHeaders(request, 'supported').some((line) => line.split(',').some((t) => t.trim().toLowerCase() === tag));

const unquote = (value: string | null | undefined): string | undefined => {
  if (value === null || value === undefined) return undefined;
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
};

export class Registrar implements Watched {
  private readonly byAor = new Map<string, Binding[]>();
  private readonly byFlow = new Map<Flow, Set<Binding>>();
  private readonly byTempGruu = new Map<string, Binding>();
  private nextExpiry = Infinity;

  constructor(private readonly options: RegistrarOptions) {}

  /** Bindings of `aor` (`sip:user@domain`) that have not expired. */
  lookup(aor: string): readonly Binding[] {
    return this.byAor.get(aor) ?? [];
  }

  /**
   * The bindings a GRUU reaches (RFC 5627 §3.3): the instance of a public GRUU, the binding of a
   * temporary one. Undefined when `uri` is not a GRUU of ours.
   */
  byGruu(uri: SipUri): readonly Binding[] | undefined {
    if (!('gr' in uri.params)) return undefined;
    const gr = uri.params.gr;
    if (gr === null || gr === undefined || gr === '') {
      const binding = uri.user === undefined ? undefined : this.byTempGruu.get(uri.user);
      return binding ? [binding] : [];
    }
    const instance = `<${gr}>`;
    return this.lookup(aorOf(uri)).filter((b) => b.instance === instance);
  }

  /** The binding whose contact is `uri` (a request sent straight to a registered contact). */
  byContact(uri: SipUri): Binding | undefined {
    for (const bindings of this.byAor.values()) for (const binding of bindings) if (uriEquals(binding.contactUri, uri)) return binding;
    return undefined;
  }

  get size(): number {
    let n = 0;
    for (const bindings of this.byAor.values()) n += bindings.length;
    return n;
  }

  all(): Binding[] {
    return [...this.byAor.values()].flat();
  }

  /**
   * Steps 5 to 8 of §10.3 for a REGISTER whose Request-URI, credentials and authorization were
   * checked: reads the contacts, updates the bindings, answers 200 with every binding of the AOR.
   */
  register(transaction: ServerTransaction, aorUri: SipUri): void {
    const request = transaction.request;
    const now = this.options.now();
    const aor = aorOf(aorUri);
    const plan = this.plan(request);
    if ('status' in plan) {
      transaction.reply(plan.status, { reason: plan.reason, headers: plan.headers });
      return;
    }
    const callId = getHeader(request, 'call-id') ?? '';
    const cseq = Number.parseInt(getHeader(request, 'cseq') ?? '0', 10);
    const current = this.byAor.get(aor) ?? [];
    const outbound = supports(request, 'outbound');
    const gruu = supports(request, 'gruu');
    if (plan.contacts === '*') {
      // §10.3 step 6: `*` removes every binding, each subject to the Call-ID/CSeq rule.
      for (const binding of [...current]) if (binding.callId !== callId || cseq > binding.cseq) this.remove(binding, 'unregistered');
      transaction.reply(200, { headers: this.answerHeaders(aor, now, false) });
      return;
    }
    // §10.3 step 7 first checks every contact, then applies them all or none.
    const matches: (Binding | undefined)[] = [];
    for (const contact of plan.contacts) {
      const existing = this.find(current, contact, outbound);
      if (existing && existing.callId === callId && cseq <= existing.cseq) {
        transaction.reply(500, { reason: 'Out of order CSeq' });
        return;
      }
      matches.push(existing);
    }
    let usedOutbound = false;
    const userAgent = getHeader(request, 'user-agent');
    plan.contacts.forEach((contact, i) => {
      const existing = matches[i];
      const isOutbound = outbound && contact.instance !== undefined && contact.regId !== undefined;
      usedOutbound ||= isOutbound;
      if (contact.expires === 0) {
        if (existing) this.remove(existing, 'unregistered');
        return;
      }
      const expiresAt = now + contact.expires * 1000;
      if (existing) {
        existing.contact = contact.nameAddr.uri;
        existing.contactUri = contact.uri;
        existing.callId = callId;
        existing.cseq = cseq;
        existing.expiresAt = expiresAt;
        existing.q = contact.nameAddr.params.q ?? undefined;
        existing.userAgent = userAgent;
        if (existing.flow !== transaction.flow) {
          this.byFlow.get(existing.flow)?.delete(existing);
          existing.flow = transaction.flow;
          this.flowSet(existing.flow).add(existing);
        }
        this.nextExpiry = Math.min(this.nextExpiry, expiresAt);
        this.options.onChange({ type: 'refreshed', binding: info(existing) }, existing);
        return;
      }
      const binding: Binding = {
        aor,
        user: aorUri.user ?? '',
        contact: contact.nameAddr.uri,
        contactUri: contact.uri,
        instance: contact.instance,
        regId: isOutbound ? contact.regId : undefined,
        outbound: isOutbound,
        tempGruu: gruu && contact.instance !== undefined ? `tgruu.${randomBytes(9).toString('base64url')}` : undefined,
        callId,
        cseq,
        expiresAt,
        flow: transaction.flow,
        q: contact.nameAddr.params.q ?? undefined,
        userAgent,
      };
      this.add(binding);
    });
    const headers = this.answerHeaders(aor, now, gruu);
    if (usedOutbound) {
      // RFC 5626 §6: the registrar says it applied Outbound, and how often the UA should ping.
      headers.push(['Require', 'outbound'], ['Flow-Timer', String(this.options.flowTimer)]);
    }
    transaction.reply(200, { headers });
  }

  private plan(request: SipRequest): Plan {
    const lines = getHeaders(request, 'contact');
    const expiresHeader = getHeader(request, 'expires');
    let defaultExpires = this.options.defaultExpires;
    if (expiresHeader !== undefined) {
      if (!/^\d{1,10}$/.test(expiresHeader)) return { status: 400, reason: 'Bad Expires' };
      defaultExpires = Number(expiresHeader);
    }
    if (lines.length === 0) return { contacts: [] };
    const contacts = parseContacts(lines.join(', '));
    if (contacts === undefined) return { status: 400, reason: 'Bad Contact' };
    if (contacts === '*') {
      // §10.3 step 6: `*` only alone and only with Expires: 0.
      if (expiresHeader === undefined || Number(expiresHeader) !== 0) return { status: 400, reason: 'Wildcard Contact needs Expires: 0' };
      return { contacts: '*' };
    }
    const planned: ContactPlan[] = [];
    for (const nameAddr of contacts) {
      const uri = parseUri(nameAddr.uri);
      if (!uri || (uri.scheme !== 'sip' && uri.scheme !== 'sips')) return { status: 400, reason: 'Bad Contact URI' };
      const raw = nameAddr.params.expires;
      let expires = defaultExpires;
      if (raw !== undefined) {
        if (raw === null || !/^\d{1,10}$/.test(raw)) return { status: 400, reason: 'Bad Contact expires' };
        expires = Number(raw);
      }
      if (expires !== 0 && expires < this.options.minExpires) {
        // §10.3 step 7: too brief is refused with the shortest interval we accept.
        return { status: 423, headers: [['Min-Expires', String(this.options.minExpires)]] };
      }
      expires = Math.min(expires, this.options.maxExpires);
      const regIdText = nameAddr.params['reg-id'];
      let regId: number | undefined;
      if (regIdText !== undefined) {
        // RFC 5626 §4.2: reg-id is 1 to 2**31-1.
        if (regIdText === null || !/^[1-9]\d{0,9}$/.test(regIdText) || Number(regIdText) > 0x7fffffff) return { status: 400, reason: 'Bad reg-id' };
        regId = Number(regIdText);
      }
      const instance = unquote(nameAddr.params['+sip.instance']);
      if (regId !== undefined && instance === undefined) {
        // RFC 5626 §6: reg-id without +sip.instance is ignored as if absent.
        regId = undefined;
      }
      planned.push({ nameAddr, uri, expires, instance, regId });
    }
    const withRegId = planned.filter((c) => c.regId !== undefined && c.expires !== 0);
    // RFC 5626 §6: one Contact with reg-id per REGISTER.
    if (withRegId.length > 1) return { status: 400, reason: 'More than one reg-id contact' };
    return { contacts: planned };
  }

  private find(current: readonly Binding[], contact: ContactPlan, outbound: boolean): Binding | undefined {
    if (contact.instance !== undefined) {
      // RFC 5626 §6: with Outbound, instance and reg-id name the binding; RFC 5627 §5: with
      // GRUU alone, the instance does.
      if (outbound && contact.regId !== undefined) return current.find((b) => b.instance === contact.instance && b.regId === contact.regId);
      const same = current.find((b) => b.instance === contact.instance && b.regId === undefined);
      if (same) return same;
    }
    return current.find((b) => uriEquals(b.contactUri, contact.uri) && (b.instance === contact.instance || contact.instance === undefined));
  }

  private answerHeaders(aor: string, now: number, gruu: boolean): [string, string][] {
    const headers: [string, string][] = [];
    for (const binding of this.lookup(aor)) {
      let value = `<${binding.contact}>;expires=${Math.max(0, Math.round((binding.expiresAt - now) / 1000))}`;
      if (binding.q !== undefined) value += `;q=${binding.q}`;
      if (binding.instance !== undefined) value += `;+sip.instance=${quote(binding.instance)}`;
      if (binding.regId !== undefined) value += `;reg-id=${binding.regId}`;
      if (gruu && binding.instance !== undefined) {
        value += `;pub-gruu=${quote(publicGruu(binding))}`;
        if (binding.tempGruu !== undefined) value += `;temp-gruu=${quote(`sip:${binding.tempGruu}@${this.options.domain};gr`)}`;
      }
      headers.push(['Contact', value]);
    }
    headers.push(['Date', new Date(now).toUTCString()]);
    return headers;
  }

  private add(binding: Binding): void {
    const list = this.byAor.get(binding.aor) ?? [];
    if (list.length === 0) this.byAor.set(binding.aor, list);
    list.push(binding);
    this.flowSet(binding.flow).add(binding);
    if (binding.tempGruu !== undefined) this.byTempGruu.set(binding.tempGruu, binding);
    this.nextExpiry = Math.min(this.nextExpiry, binding.expiresAt);
    this.options.onChange({ type: 'added', binding: info(binding) }, binding);
    // Bounded per AOR: the oldest binding gives way.
    if (list.length > this.options.maxBindings) this.remove(list[0]!, 'replaced');
  }

  private flowSet(flow: Flow): Set<Binding> {
    let set = this.byFlow.get(flow);
    if (!set) this.byFlow.set(flow, (set = new Set()));
    return set;
  }

  remove(binding: Binding, reason: NonNullable<SipRegistrationChange['reason']>): void {
    const list = this.byAor.get(binding.aor);
    const index = list ? list.indexOf(binding) : -1;
    if (!list || index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.byAor.delete(binding.aor);
    const set = this.byFlow.get(binding.flow);
    set?.delete(binding);
    if (set?.size === 0) this.byFlow.delete(binding.flow);
    if (binding.tempGruu !== undefined) this.byTempGruu.delete(binding.tempGruu);
    this.options.onChange({ type: 'removed', binding: info(binding), reason }, binding);
  }

  /** The flow's WebSocket closed: nothing can reach its contacts any more (RFC 5626 §4.4, RFC 7118 §5). */
  flowClosed(flow: Flow): void {
    const set = this.byFlow.get(flow);
    if (!set) return;
    for (const binding of [...set]) this.remove(binding, 'closed');
  }

  checkDeadlines(now: number): void {
    if (now < this.nextExpiry) return;
    let next = Infinity;
    for (const binding of this.all()) {
      if (binding.expiresAt <= now) this.remove(binding, 'expired');
      else next = Math.min(next, binding.expiresAt);
    }
    this.nextExpiry = next;
  }

  clear(): void {
    this.byAor.clear();
    this.byFlow.clear();
    this.byTempGruu.clear();
    this.nextExpiry = Infinity;
  }
}

/** RFC 5627 §3.1.1: the AOR with `gr` set to the instance's URN. */
export function publicGruu(binding: Binding): string {
  return `${binding.aor};gr=${binding.instance!.slice(1, -1)}`;
}

export function info(binding: Binding): SipBindingInfo {
  return {
    aor: binding.aor,
    contact: binding.contact,
    ...(binding.instance !== undefined ? { instance: binding.instance } : {}),
    ...(binding.regId !== undefined ? { regId: binding.regId } : {}),
    ...(binding.instance !== undefined && binding.tempGruu !== undefined ? { gruu: publicGruu(binding) } : {}),
    expires: binding.expiresAt,
    connectionId: binding.flow.connection.id,
    ...(binding.userAgent !== undefined ? { userAgent: binding.userAgent } : {}),
  };
}

/** Parses a To/From value down to its URI (the AOR source of a REGISTER). */
export function addressUri(value: string | undefined): SipUri | undefined {
  if (value === undefined) return undefined;
  const nameAddr = parseNameAddr(value);
  return nameAddr ? parseUri(nameAddr.uri) : undefined;
}
