/**
 * One MQTT connection: the state machine behind `open(connection, context)`. It reads packets
 * with one streaming reader, dispatches them in one `switch` to `handlers/<packet>.ts`, answers
 * bad input the way the connection's MQTT version says, and leaves through one exit, `fail`:
 * handlers throw a `ProtocolError<MqttFault>`, `onMessage` catches once, and continuations after
 * an asynchronous hook end the same way (`after`).
 */
import {
  CloseCode,
  limitCloseReason,
  ProtocolErrorCode,
  toProtocolError,
  type AdapterContext,
  type Connection,
  type ProtocolError,
  type QoS,
  type Session,
  type Watched,
} from '@protoplex/core';
import { ProtocolLevel, ReasonCode, type MqttVersion } from './constants.js';
import {
  createPacketReader,
  encodePacket,
  encodePublish,
  sniffConnectLevel,
  type Packet,
  type PacketReader,
  type PublishPacket,
  type ReadError,
} from './codec.js';
import type { Broker } from './broker.js';
import type { StoredMessageProperties } from './persistence.js';
import type { AppMessage, Delivery, Link, RouteScratch, SessionState, Will } from './sessions.js';
import type { MqttClient, ResolvedOptions } from './types.js';
import { ACK_PUBREL, PINGRESP, ack, connackCodeV4, hookFailure, unsupportedLevel, violation, type MqttFault } from './_helpers.js';
import { handleAuth } from './handlers/auth.js';
import { handleConnect } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePublish } from './handlers/publish.js';
import { handlePubrec } from './handlers/pubrec.js';
import { handlePubrel } from './handlers/pubrel.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';

/** Placeholder until an enhanced authentication starts (auth.ts gives each exchange its own object). */
const EMPTY_AUTH_STATE: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** What an error with no detail of its own answers: a bug (`toProtocolError`) is 0x83 Implementation specific error. */
const INTERNAL_FAULT: MqttFault = { reasonCode: ReasonCode.ImplementationSpecificError };
const NO_FAULT: MqttFault = {};

type Phase = 'awaiting-connect' | 'connecting' | 'authenticating' | 'connected' | 'closed';

/**
 * One connection's state. Its members are package-internal (the class is not exported from the
 * package): the packet handlers in `handlers/` read and update them.
 */
export class MqttSession implements Session, Link, Watched {
  phase: Phase = 'awaiting-connect';
  /** Set once this side asked to close: later packets of the same message are ignored. */
  closing = false;
  version: MqttVersion = 4;
  readonly reader: PacketReader;
  readonly options: ResolvedOptions;
  state: SessionState | undefined;
  attached = false;
  client!: MqttClient;
  connectedAt = 0;
  ready = false;
  congested = false;
  sendQuota: number;
  clientMaxPacket = Number.POSITIVE_INFINITY;
  clientAliasMax = 0;
  outAliases: Map<string, number> | undefined;
  inAliases: Map<number, string> | undefined;
  requestProblemInfo = true;
  requestResponseInfo = false;
  connectExpiry = 0;
  will: Will | undefined;
  willOnClose = true;
  /** When the WebSocket connection opened (clock ms), for the CONNECT deadline. */
  openedAt = 0;
  /** Keep-alive period times 1.5, in ms (0: no keep-alive). */
  keepAliveLimit = 0;
  /** When the last packet arrived (clock ms): the timer checks it instead of being reset per packet. */
  lastSeen = 0;
  blocked = false;
  /** Packets that arrived while a hook was pending (made on first use). */
  backlog: Packet[] | undefined;
  sniffed = false;
  sniffedLevel: number | undefined;
  authMethod: string | undefined;
  authStep = 0;
  authState: Record<string, unknown> = EMPTY_AUTH_STATE;
  reauthenticating = false;

  constructor(
    readonly connection: Connection,
    readonly context: AdapterContext,
    readonly broker: Broker,
  ) {
    this.options = broker.options;
    this.sendQuota = this.options.maxInflight;
    this.reader = createPacketReader({
      maxPacketSize: this.options.maxPacketSize,
      onPacket: (packet) => this.onPacket(packet),
      onError: (error) => {
        throw this.readFailure(error);
      },
    });
    // Timers: none per connection. The broker's one sweep checks the CONNECT deadline and the
    // keep-alive of every watched session, so an idle connection never makes the transport
    // create its connection scope (see `checkDeadlines`).
    this.openedAt = broker.clock.now();
    if (this.options.connectTimeout > 0) broker.deadlines?.watch(this);
    // The drain listener is added the first time the transport reports backpressure (`write`):
    // most connections never see any, and the listener costs a closure and an array each.
  }

  private drainHooked = false;

  // ---------------------------------------------------------------- transport events

  onMessage(data: Uint8Array | string, isBinary: boolean): void {
    if (this.closing || this.phase === 'closed') return;
    try {
      // [MQTT-6.0.0-1] "MQTT Control Packets MUST be sent in WebSocket binary data frames. If any
      // other type of data frame is received the recipient MUST close the Network Connection."
      if (!isBinary || typeof data === 'string') throw violation(CloseCode.UnsupportedData, 'MQTT over WebSocket is binary only');
      if (!this.sniffed && this.phase === 'awaiting-connect') {
        this.sniffed = true;
        this.sniffedLevel = sniffConnectLevel(data);
        if (this.sniffedLevel !== undefined && this.sniffedLevel !== ProtocolLevel.V311 && this.sniffedLevel !== ProtocolLevel.V5) {
          throw unsupportedLevel(this.sniffedLevel);
        }
      }
      // Packets are dispatched from inside `push`; what a handler throws comes out here.
      this.reader.push(data);
    } catch (error) {
      this.fail(toProtocolError<MqttFault>(error, this.context.log));
    }
  }

  onClose(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.ready = false;
    this.broker.deadlines?.unwatch(this);
    this.backlog = undefined;
    if (this.state && this.attached) {
      this.attached = false;
      this.broker.detach(this.state, this, this.willOnClose ? this.will : undefined);
    }
  }

  // ---------------------------------------------------------------- Link (called by the broker)

  sendQos0(message: AppMessage, retain: boolean, subscriptionIds: number[] | undefined, scratch: RouteScratch | undefined): void {
    const useAlias = this.clientAliasMax > 0 && this.options.outboundTopicAliases;
    const shareable = scratch !== undefined && !retain && subscriptionIds === undefined && !useAlias;
    let bytes: Buffer;
    if (shareable && this.version === 4 && scratch.shared4) bytes = scratch.shared4;
    else if (shareable && this.version === 5 && scratch.shared5) bytes = scratch.shared5;
    else {
      bytes = encodePublish(this.publishPacket(message, 0, retain, 0, false, subscriptionIds, useAlias), this.version);
      if (shareable) {
        if (this.version === 4) scratch.shared4 = bytes;
        else scratch.shared5 = bytes;
      }
    }
    // [MQTT-3.1.2-24] (5.0) "The Server MUST NOT send packets exceeding Maximum Packet Size to the Client."
    if (bytes.length > this.clientMaxPacket) {
      this.forgetNewAlias();
      return;
    }
    this.broker.messagesOut++;
    this.write(bytes);
  }

  sendDelivery(delivery: Delivery, dup: boolean): boolean {
    const useAlias = this.clientAliasMax > 0 && this.options.outboundTopicAliases;
    const bytes = encodePublish(this.publishPacket(delivery.message, delivery.qos, delivery.retain, delivery.packetId!, dup, delivery.subscriptionIds, useAlias), this.version);
    if (bytes.length > this.clientMaxPacket) {
      this.forgetNewAlias();
      return false;
    }
    this.broker.messagesOut++;
    this.write(bytes);
    return true;
  }

  /** Topic given a new outbound alias by the last `publishPacket`, until that packet is sent. */
  private newAliasTopic: string | undefined;

  /**
   * The packet that set up an alias was discarded (too large), so the client never learnt the
   * alias: forget it, or later packets would carry an alias the client cannot resolve (MQTT 5.0
   * §3.3.2.3.4: a Topic Alias with no mapping for the receiver is a Protocol Error).
   */
  private forgetNewAlias(): void {
    if (this.newAliasTopic === undefined) return;
    this.outAliases?.delete(this.newAliasTopic);
    this.newAliasTopic = undefined;
  }

  sendPubrel(packetId: number): void {
    this.write(ack(ACK_PUBREL, packetId));
  }

  takeOver(): void {
    if (this.phase === 'closed') return;
    // [MQTT-3.1.4-3] (5.0) "the Server sends a DISCONNECT packet to the existing Client with
    // Reason Code of 0x8E (Session taken over) ... and MUST close the Network Connection".
    if (this.version === 5 && this.ready) this.sendPacket({ cmd: 'disconnect', reasonCode: ReasonCode.SessionTakenOver });
    const state = this.state;
    this.phase = 'closed';
    this.ready = false;
    this.broker.deadlines?.unwatch(this);
    if (state && this.attached) {
      this.attached = false;
      this.broker.detach(state, this, this.will);
    }
    this.connection.close(CloseCode.NormalClosure, 'session taken over');
  }

  shutDown(): void {
    // MQTT 5.0 §3.14.2.1: DISCONNECT reason code 0x8B "Server shutting down".
    this.fail(violation(CloseCode.GoingAway, 'server shutting down', ReasonCode.ServerShuttingDown));
  }

  // ---------------------------------------------------------------- reading

  onPacket(packet: Packet): void {
    if (this.closing || this.phase === 'closed') return;
    if (this.keepAliveLimit > 0) this.lastSeen = this.broker.clock.now();
    if (this.blocked) {
      (this.backlog ??= []).push(packet);
      return;
    }
    this.dispatch(packet);
  }

  /** What the reader's error ends the connection with (thrown from inside `push`). */
  readFailure(error: ReadError): ProtocolError<MqttFault> {
    if (error.kind === 'protocol-version') return unsupportedLevel(this.sniffedLevel ?? 0);
    if (error.kind === 'too-large') {
      // MQTT 5.0 §3.1.2.11.4: "If a Server receives a packet whose size exceeds this limit, this
      // is a Protocol Error, the Server uses DISCONNECT with Reason Code 0x95 (Packet too large)".
      return violation(CloseCode.MessageTooBig, 'packet too large', ReasonCode.PacketTooLarge);
    }
    // [MQTT-4.13.1-1] (5.0) "When a Server detects a Malformed Packet or Protocol Error, and a
    // Reason Code is given in the specification, it MUST close the Network Connection"; 0x81.
    return violation(CloseCode.ProtocolError, `malformed packet: ${error.message}`, ReasonCode.MalformedPacket);
  }

  /** One packet to its handler. Throws what the handler throws: callers are inside a catch. */
  dispatch(packet: Packet): void {
    if (this.phase === 'awaiting-connect' && packet.cmd !== 'connect') {
      // [MQTT-3.1.0-1] "After a Network Connection is established by a Client to a Server, the
      // first packet sent from the Client to the Server MUST be a CONNECT packet."
      throw violation(CloseCode.ProtocolError, `${packet.cmd} before CONNECT`);
    }
    if (this.phase === 'authenticating' && packet.cmd !== 'auth' && packet.cmd !== 'disconnect') {
      // MQTT 5.0 §4.12: before CONNACK only AUTH and DISCONNECT may follow an enhanced CONNECT.
      throw violation(CloseCode.ProtocolError, `${packet.cmd} during authentication`, ReasonCode.ProtocolError);
    }
    switch (packet.cmd) {
      case 'connect':
        handleConnect(this, packet);
        return;
      case 'publish':
        handlePublish(this, packet);
        return;
      case 'puback':
        this.state && this.broker.complete(this.state, packet.messageId!);
        return;
      case 'pubrec':
        handlePubrec(this, packet.messageId!, packet.reasonCode ?? 0);
        return;
      case 'pubrel':
        handlePubrel(this, packet.messageId!);
        return;
      case 'pubcomp':
        this.state && this.broker.complete(this.state, packet.messageId!);
        return;
      case 'subscribe':
        handleSubscribe(this, packet);
        return;
      case 'unsubscribe':
        handleUnsubscribe(this, packet);
        return;
      case 'pingreq':
        // [MQTT-3.12.4-1] "The Server MUST send a PINGRESP packet in response to a PINGREQ packet."
        this.write(PINGRESP);
        return;
      case 'disconnect':
        handleDisconnect(this, packet);
        return;
      case 'auth':
        handleAuth(this, packet);
        return;
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP travel only from server to client.
        throw violation(CloseCode.ProtocolError, `${packet.cmd} is sent by servers only`, ReasonCode.ProtocolError);
    }
  }

  drainBacklog(): void {
    const backlog = this.backlog;
    if (backlog === undefined) return;
    while (!this.blocked && backlog.length > 0 && !this.closing && this.phase !== 'closed') this.dispatch(backlog.shift()!);
  }

  // Values of the CONNECT kept for the end of a multi-step enhanced authentication.
  connectClean = true;
  connectKeepAlive = 0;
  connectAssigned = false;
  connectServerKeepAlive: number | undefined;
  connectExtra(authData: Buffer | undefined): { assigned: boolean; serverKeepAlive: number | undefined; authData: Buffer | undefined } {
    return { assigned: this.connectAssigned, serverKeepAlive: this.connectServerKeepAlive, authData };
  }

  // ---------------------------------------------------------------- helpers for the handlers

  /** Starts the keep-alive watch (checked by the broker's sweep), or stops watching without one. */
  startKeepAlive(keepAlive: number): void {
    this.keepAliveLimit = keepAlive * 1500;
    this.lastSeen = this.broker.clock.now();
    if (this.keepAliveLimit > 0) this.broker.deadlines?.watch(this);
    else this.broker.deadlines?.unwatch(this);
  }

  /** Called by the broker's sweep, about once a second, while this session is watched. */
  checkDeadlines(now: number): void {
    if (this.closing || this.phase === 'closed') return;
    if (this.phase === 'awaiting-connect') {
      // MQTT 5.0 §3.1.4 (and 3.1.1 §3.1.4): "If the Server does not receive a CONNECT packet
      // within a reasonable amount of time after the Network Connection is established, the
      // Server SHOULD close the Network Connection."
      if (now - this.openedAt >= this.options.connectTimeout) this.fail(violation(CloseCode.PolicyViolation, 'no CONNECT in time'));
      return;
    }
    // [MQTT-3.1.2-24] (3.1.1; 5.0 §3.1.2.10) "If the Keep Alive value is non-zero and the Server
    // does not receive a Control Packet from the Client within one and a half times the Keep Alive
    // time period, it MUST disconnect the Network Connection to the Client as if the network had
    // failed." The sweep runs every second, so the close comes at most a second after that.
    if (this.keepAliveLimit > 0 && this.phase === 'connected' && now - this.lastSeen >= this.keepAliveLimit) {
      this.fail(violation(CloseCode.PolicyViolation, 'keep-alive timeout', ReasonCode.KeepAliveTimeout));
    }
  }

  appMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, props: PublishPacket['properties'] | undefined, publisherId: string): AppMessage {
    const receivedAt = this.broker.clock.now();
    if (this.version !== 5 || !props) return { topic, payload, qos, retain, receivedAt, publisherId };
    const properties: { -readonly [K in keyof StoredMessageProperties]: StoredMessageProperties[K] } = {};
    let any = false;
    if (props.payloadFormatIndicator !== undefined) ((properties.payloadFormatIndicator = props.payloadFormatIndicator), (any = true));
    if (props.contentType !== undefined) ((properties.contentType = props.contentType), (any = true));
    if (props.responseTopic !== undefined) ((properties.responseTopic = props.responseTopic), (any = true));
    if (props.correlationData !== undefined) ((properties.correlationData = props.correlationData), (any = true));
    if (props.userProperties !== undefined) ((properties.userProperties = props.userProperties), (any = true));
    const expiry = props.messageExpiryInterval;
    return {
      topic,
      payload,
      qos,
      retain,
      receivedAt,
      publisherId,
      ...(expiry !== undefined ? { expiresAt: receivedAt + expiry * 1000 } : {}),
      ...(any ? { properties } : {}),
    };
  }

  /** The PUBLISH packet for one delivery to this client. */
  publishPacket(message: AppMessage, qos: QoS, retain: boolean, packetId: number, dup: boolean, subscriptionIds: number[] | undefined, useAlias: boolean): PublishPacket {
    const packet: PublishPacket = { cmd: 'publish', topic: message.topic, payload: message.payload, qos, retain, dup };
    if (qos > 0) packet.messageId = packetId;
    if (this.version !== 5) return packet;
    const source = message.properties;
    const properties: NonNullable<PublishPacket['properties']> = source ? { ...(source as NonNullable<PublishPacket['properties']>) } : {};
    if (message.expiresAt !== undefined) {
      // [MQTT-3.3.2-6] (5.0) "The PUBLISH packet sent to a Client by the Server MUST contain a
      // Message Expiry Interval set to the received value minus the time that the Application
      // Message has been waiting in the Server."
      properties.messageExpiryInterval = Math.max(0, Math.ceil((message.expiresAt - this.broker.clock.now()) / 1000));
    }
    if (subscriptionIds) properties.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0]! : subscriptionIds;
    this.newAliasTopic = undefined;
    if (useAlias && this.outAliases) {
      // [MQTT-3.3.2-11] (5.0) "A Server MUST NOT send a PUBLISH packet with a Topic Alias greater than
      // the Topic Alias Maximum value sent by the Client in the CONNECT packet."
      const known = this.outAliases.get(message.topic);
      if (known !== undefined) {
        packet.topic = '';
        properties.topicAlias = known;
      } else if (this.outAliases.size < this.clientAliasMax) {
        const alias = this.outAliases.size + 1;
        this.outAliases.set(message.topic, alias);
        this.newAliasTopic = message.topic;
        properties.topicAlias = alias;
      }
    }
    if (Object.keys(properties).length > 0) packet.properties = properties;
    return packet;
  }

  sendPacket(packet: Packet): void {
    const props = (packet as { properties?: Record<string, unknown> }).properties;
    if (this.version === 5 && props && !this.requestProblemInfo && packet.cmd !== 'publish' && packet.cmd !== 'connack' && packet.cmd !== 'disconnect') {
      // [MQTT-3.1.2-29] (5.0) "If the value of Request Problem Information is 0, the Server MAY
      // return a Reason String or User Properties on a CONNACK or DISCONNECT packet, but MUST NOT
      // send a Reason String or User Properties on any packet other than PUBLISH, CONNACK, or DISCONNECT."
      delete props.reasonString;
      delete props.userProperties;
    }
    let bytes = encodePacket(packet, this.version);
    if (bytes.length > this.clientMaxPacket) {
      // [MQTT-3.2.2-19] (5.0) "The Server MUST NOT send this property [Reason String] if it would
      // increase the size of the CONNACK packet beyond the Maximum Packet Size specified by the
      // Client"; [MQTT-3.2.2-20] says the same of User Properties, and every other packet with a
      // Reason String has the same rule (e.g. [MQTT-3.14.2-3] for DISCONNECT). They go first.
      if (props && (props.reasonString !== undefined || props.userProperties !== undefined)) {
        delete props.reasonString;
        delete props.userProperties;
        bytes = encodePacket(packet, this.version);
      }
      // [MQTT-3.1.2-24] (5.0) "The Server MUST NOT send packets exceeding Maximum Packet Size to the
      // Client"; a packet that still does not fit is discarded.
      if (bytes.length > this.clientMaxPacket) return;
    }
    this.write(bytes);
  }

  write(bytes: Buffer): void {
    if (this.connection.send(bytes)) return;
    this.congested = true;
    if (this.drainHooked) return;
    this.drainHooked = true;
    this.connection.onDrain(() => {
      if (this.phase === 'closed') return;
      this.congested = false;
      // Pumping a queue runs delivery code: a bug there ends this session, not the transport's loop.
      try {
        if (this.state && this.attached) this.broker.pump(this.state);
      } catch (error) {
        this.fail(toProtocolError(error, this.context.log));
      }
    });
  }

  /** A hook settled: packets flow again, the held ones first. */
  afterHook(then: () => void): void {
    if (this.phase === 'closed') return;
    this.blocked = false;
    then();
    this.drainBacklog();
  }

  /**
   * Continues once a hook's promise settles. A rejection goes to `rejected`, by default "the hook
   * failed" (`hookFailure`); whatever either continuation throws ends the session through `fail`,
   * as a throw inside `onMessage` does.
   */
  after<T>(promise: Promise<T>, then: (value: T) => void, rejected?: (error: unknown) => void): void {
    promise
      .then(
        then,
        rejected ??
          ((error: unknown) => {
            throw hookFailure(error, this.context.log);
          }),
      )
      .then(undefined, (error: unknown) => this.fail(toProtocolError<MqttFault>(error, this.context.log)));
  }

  /**
   * The one exit for every error: the version's answer (`answer`), then the WebSocket close with
   * the error's code and its message as reason.
   */
  private fail(error: ProtocolError<MqttFault>): void {
    if (this.closing || this.phase === 'closed') return;
    this.answer(error.detail ?? (error.code === ProtocolErrorCode.Internal ? INTERNAL_FAULT : NO_FAULT), error.message);
    this.closing = true;
    this.connection.close(error.closeCode, limitCloseReason(error.message));
  }

  /**
   * What MQTT says before the close. 5.0: CONNACK with the reason code while no CONNACK was sent,
   * DISCONNECT after; 3.1.1: a CONNACK return code for a refused CONNECT, else nothing (3.1.1 has
   * no DISCONNECT from the server, [MQTT-4.8.0-1]: it just closes).
   */
  private answer(fault: MqttFault, reason: string): void {
    const reasonCode = fault.reasonCode;
    if (reasonCode === undefined) return;
    if (fault.level !== undefined) {
      if (fault.level > ProtocolLevel.V5) {
        // 5.0 §3.1.2.2: "If the Protocol Version is not 5 and the Server does not want to accept the
        // CONNECT packet, the Server MAY send a CONNACK packet with Reason Code 0x84 (Unsupported
        // Protocol Version) and then MUST close the Network Connection."
        this.write(encodePacket({ cmd: 'connack', reasonCode, sessionPresent: false }, 5));
      } else {
        // [MQTT-3.1.2-2] (3.1.1) "The Server MUST respond to the CONNECT Packet with a CONNACK return
        // code 0x01 (unacceptable protocol level) and then disconnect the Client if the Protocol
        // Level is not supported by the Server." MQTT 3.1 (level 3) lands here too.
        this.write(encodePacket({ cmd: 'connack', returnCode: connackCodeV4(reasonCode), sessionPresent: false }, 4));
      }
      return;
    }
    if (this.phase === 'awaiting-connect') {
      // A CONNECT that failed to parse but announced MQTT 5: answer with a 5.0 CONNACK.
      if (this.sniffedLevel === ProtocolLevel.V5) this.write(encodePacket({ cmd: 'connack', reasonCode, sessionPresent: false }, 5));
      return;
    }
    if (this.version === 5) {
      const properties = { reasonString: reason };
      if (this.ready) this.sendPacket({ cmd: 'disconnect', reasonCode, properties });
      else this.sendPacket({ cmd: 'connack', reasonCode, sessionPresent: false, properties });
      return;
    }
    if (fault.refuse && !this.ready) this.sendPacket({ cmd: 'connack', returnCode: connackCodeV4(reasonCode), sessionPresent: false });
  }

  /** A normal close (the client's DISCONNECT): no error, no answer. */
  closeNormally(): void {
    this.closing = true;
    this.connection.close(CloseCode.NormalClosure, '');
  }
}
