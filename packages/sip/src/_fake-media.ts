/**
 * Media stand-ins for the end-to-end tests: Node has no WebRTC, and both SIP libraries need an
 * offer/answer engine to build INVITE bodies. These shims replace only that engine; every SIP
 * message the libraries exchange is real and goes over a real WebSocket to the server.
 *
 * Each endpoint writes an SDP whose `o=` line carries its own label, so a test can check that
 * the body a callee received is byte for byte what the caller's engine produced (the proxy must
 * relay bodies untouched, RFC 3261 §16.6).
 *
 * Not part of the package: test-only, like `_test-utils.ts`.
 */
import type { Session, SessionDescriptionHandler, SessionDescriptionHandlerFactory } from 'sip.js';

let sdpVersion = 0;

/**
 * A minimal valid SDP (RFC 8866: v, o, s, t, then one audio m= section with c=) with the
 * endpoint's `label` as the o= username, so each side's description is recognisable.
 */
export function fakeSdp(label: string, type: 'offer' | 'answer'): string {
  sdpVersion += 1;
  const user = label.replace(/[^A-Za-z0-9._-]/g, '_') || '-';
  return [
    'v=0',
    `o=${user} ${1000 + sdpVersion} 1 IN IP4 127.0.0.1`,
    `s=${type}`,
    't=0 0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=rtpmap:111 opus/48000/2',
    'a=mid:0',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** The label in a description written by {@link fakeSdp} (its o= username), if any. */
export function sdpLabel(sdp: string): string | undefined {
  return /^o=(\S+) /m.exec(sdp)?.[1];
}

function checkSdp(sdp: unknown): asserts sdp is string {
  // A real engine refuses a description that is not SDP; so do we, so that a proxy that mangles
  // bodies makes the call fail the way it would in a browser.
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0\r\n') || !/^m=audio /m.test(sdp)) {
    throw new Error(`not an SDP description: ${JSON.stringify(sdp)}`);
  }
}

// ------------------------------------------------------------------ SIP.js

/** A SessionDescriptionHandler that answers with {@link fakeSdp}, and records what it saw. */
export class FakeSessionDescriptionHandler implements SessionDescriptionHandler {
  /** Remote descriptions given to `setDescription`, in order. */
  readonly remote: string[] = [];
  /** Local descriptions handed out by `getDescription`, in order. */
  readonly local: string[] = [];
  closed = false;
  /** Whether the last remote description was an offer that still needs our answer. */
  private pendingOffer = false;

  constructor(readonly label: string) {}

  getDescription(): Promise<{ body: string; contentType: string }> {
    if (this.closed) return Promise.reject(new Error('session description handler closed'));
    const sdp = fakeSdp(this.label, this.pendingOffer ? 'answer' : 'offer');
    this.pendingOffer = false;
    this.local.push(sdp);
    return Promise.resolve({ body: sdp, contentType: 'application/sdp' });
  }

  setDescription(sdp: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('session description handler closed'));
    try {
      checkSdp(sdp);
    } catch (error) {
      return Promise.reject(error);
    }
    // A remote description after one of ours is the answer; otherwise it is an offer.
    this.pendingOffer = this.local.length === this.remote.length;
    this.remote.push(sdp);
    return Promise.resolve();
  }

  hasDescription(contentType: string): boolean {
    return contentType.split(';')[0]!.trim().toLowerCase() === 'application/sdp';
  }

  sendDtmf(): boolean {
    return false;
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * A `sessionDescriptionHandlerFactory` for one UserAgent: its handlers are labelled `label` and
 * collected in `handlers`, in creation order.
 */
export function fakeSdhFactory(label: string): SessionDescriptionHandlerFactory & { handlers: FakeSessionDescriptionHandler[] } {
  const handlers: FakeSessionDescriptionHandler[] = [];
  const factory = (_session: Session): SessionDescriptionHandler => {
    const handler = new FakeSessionDescriptionHandler(label);
    handlers.push(handler);
    return handler;
  };
  return Object.assign(factory, { handlers });
}

// ------------------------------------------------------------------ JsSIP (what RTCSession.js calls)

interface FakeDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

/** `new RTCSessionDescription(init)`: JsSIP wraps every remote description in one. */
export class FakeRTCSessionDescription implements FakeDescription {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
  constructor(init: FakeDescription) {
    this.type = init.type;
    this.sdp = init.sdp;
  }
  toJSON(): FakeDescription {
    return { type: this.type, sdp: this.sdp };
  }
}

export interface FakeTrack {
  readonly kind: 'audio';
  readonly id: string;
  enabled: boolean;
  readyState: 'live' | 'ended';
  stop(): void;
}

/** A MediaStream with one audio track: passed as `mediaStream` so JsSIP never calls getUserMedia. */
export function fakeMediaStream(label: string) {
  const tracks: FakeTrack[] = [
    {
      kind: 'audio',
      id: `${label}-audio`,
      enabled: true,
      readyState: 'live',
      stop() {
        this.readyState = 'ended';
      },
    },
  ];
  return {
    id: `${label}-stream`,
    getTracks: () => [...tracks],
    getAudioTracks: () => [...tracks],
    getVideoTracks: () => [] as FakeTrack[],
    removeTrack(track: FakeTrack) {
      const at = tracks.indexOf(track);
      if (at >= 0) tracks.splice(at, 1);
    },
  };
}

type SignalingState = 'stable' | 'have-local-offer' | 'have-remote-offer' | 'closed';

export interface FakeSender {
  track: FakeTrack | null;
  replaceTrack(track: FakeTrack | null): Promise<void>;
}

/**
 * The part of RTCPeerConnection that JsSIP's RTCSession uses: offer/answer with the W3C
 * signaling-state rules (so an out-of-order call fails as in a browser), ICE gathering already
 * `complete` (there is no ICE), tracks recorded as senders. `label` comes from the static
 * `nextLabel`, which a test sets before it places or answers a call.
 */
export class FakeRTCPeerConnection extends EventTarget {
  /** Every connection created, for assertions on what each side saw. */
  static readonly instances: FakeRTCPeerConnection[] = [];
  static nextLabel = 'pc';

  readonly label: string;
  localDescription: FakeDescription | null = null;
  remoteDescription: FakeDescription | null = null;
  signalingState: SignalingState = 'stable';
  readonly iceGatheringState = 'complete';
  iceConnectionState: 'new' | 'closed' = 'new';
  connectionState: 'new' | 'closed' = 'new';
  private readonly senders: FakeSender[] = [];

  constructor(_configuration?: unknown, _constraints?: unknown) {
    super();
    this.label = FakeRTCPeerConnection.nextLabel;
    FakeRTCPeerConnection.instances.push(this);
  }

  private ensureOpen(): void {
    if (this.signalingState === 'closed') throw new DOMException('The RTCPeerConnection is closed', 'InvalidStateError');
  }

  createOffer(): Promise<FakeDescription> {
    try {
      this.ensureOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve({ type: 'offer', sdp: fakeSdp(this.label, 'offer') });
  }

  createAnswer(): Promise<FakeDescription> {
    if (this.signalingState !== 'have-remote-offer') return Promise.reject(new DOMException(`createAnswer in state ${this.signalingState}`, 'InvalidStateError'));
    return Promise.resolve({ type: 'answer', sdp: fakeSdp(this.label, 'answer') });
  }

  setLocalDescription(description: FakeDescription): Promise<void> {
    try {
      this.ensureOpen();
      checkSdp(description.sdp);
      if (description.type === 'offer' && this.signalingState === 'stable') this.signalingState = 'have-local-offer';
      else if (description.type === 'answer' && this.signalingState === 'have-remote-offer') this.signalingState = 'stable';
      else throw new DOMException(`setLocalDescription(${description.type}) in state ${this.signalingState}`, 'InvalidStateError');
    } catch (error) {
      return Promise.reject(error);
    }
    this.localDescription = { type: description.type, sdp: description.sdp };
    return Promise.resolve();
  }

  setRemoteDescription(description: FakeDescription): Promise<void> {
    try {
      this.ensureOpen();
      checkSdp(description.sdp);
      if (description.type === 'offer' && this.signalingState === 'stable') this.signalingState = 'have-remote-offer';
      else if (description.type === 'answer' && this.signalingState === 'have-local-offer') this.signalingState = 'stable';
      else throw new DOMException(`setRemoteDescription(${description.type}) in state ${this.signalingState}`, 'InvalidStateError');
    } catch (error) {
      return Promise.reject(error);
    }
    this.remoteDescription = { type: description.type, sdp: description.sdp };
    return Promise.resolve();
  }

  addTrack(track: FakeTrack): FakeSender {
    this.ensureOpen();
    const sender: FakeSender = {
      track,
      replaceTrack(next) {
        sender.track = next;
        return Promise.resolve();
      },
    };
    this.senders.push(sender);
    return sender;
  }

  getSenders(): FakeSender[] {
    return [...this.senders];
  }

  getReceivers(): never[] {
    return [];
  }

  close(): void {
    this.signalingState = 'closed';
    this.iceConnectionState = 'closed';
    this.connectionState = 'closed';
  }
}

/**
 * Installs the JsSIP shims on globalThis (`window` is needed because RTCSession checks
 * `window.RTCPeerConnection`); returns the function that puts the previous values back.
 */
export function installFakeWebRTC(): () => void {
  const g = globalThis as Record<string, unknown>;
  const saved = new Map<string, PropertyDescriptor | undefined>();
  const set = (name: string, value: unknown): void => {
    saved.set(name, Object.getOwnPropertyDescriptor(g, name));
    Object.defineProperty(g, name, { value, configurable: true, writable: true, enumerable: false });
  };
  set('RTCPeerConnection', FakeRTCPeerConnection);
  set('RTCSessionDescription', FakeRTCSessionDescription);
  if (g['window'] === undefined) set('window', globalThis);
  return () => {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(g, name, descriptor);
      else delete g[name];
    }
  };
}
