/**
 * WAMP v2 tables: message codes, subprotocol ids, error and close URIs, the roles and features
 * the router announces. Sources: the WAMP specification (wamp-proto.org), Basic Profile
 * "Message Codes and Direction" and "URI Reference", Advanced Profile "Feature Announcement".
 */

/** Message type codes (Basic Profile "Message Codes and Direction"; Advanced Profile "Additional Messages"). */
export const MessageType = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Message names by code, for errors and logs. */
export const MESSAGE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(MessageType).map(([name, code]) => [code, name]));

/** The IANA-registered id, and the ids clients actually offer (one per serializer). */
export const WAMP_PROTOCOL = 'wamp';
export const WAMP_SERIALIZER_PROTOCOLS = {
  json: 'wamp.2.json',
  msgpack: 'wamp.2.msgpack',
  cbor: 'wamp.2.cbor',
} as const;
export type SerializerId = keyof typeof WAMP_SERIALIZER_PROTOCOLS;

/** Largest id: "IDs ... MUST be ... in the range [1, 2^53]" (Basic Profile "IDs"). */
export const MAX_ID = 2 ** 53;

/** Standard error URIs (Basic Profile "URI Reference", Advanced Profile "URIs"). */
export const WampError = {
  InvalidUri: 'wamp.error.invalid_uri',
  NoSuchProcedure: 'wamp.error.no_such_procedure',
  ProcedureAlreadyExists: 'wamp.error.procedure_already_exists',
  ProcedureExistsWithDifferentInvocationPolicy: 'wamp.error.procedure_exists_with_different_invocation_policy',
  NoSuchRegistration: 'wamp.error.no_such_registration',
  NoSuchSubscription: 'wamp.error.no_such_subscription',
  NoSuchSession: 'wamp.error.no_such_session',
  InvalidArgument: 'wamp.error.invalid_argument',
  Canceled: 'wamp.error.canceled',
  Timeout: 'wamp.error.timeout',
  PayloadSizeExceeded: 'wamp.error.payload_size_exceeded',
  ProtocolViolation: 'wamp.error.protocol_violation',
  NotAuthorized: 'wamp.error.not_authorized',
  AuthorizationFailed: 'wamp.error.authorization_failed',
  NoSuchRealm: 'wamp.error.no_such_realm',
  NoSuchRole: 'wamp.error.no_such_role',
  NoSuchPrincipal: 'wamp.error.no_such_principal',
  NoMatchingAuthMethod: 'wamp.error.no_matching_auth_method',
  AuthenticationDenied: 'wamp.error.authentication_denied',
  AuthenticationFailed: 'wamp.error.authentication_failed',
  AuthenticationRequired: 'wamp.error.authentication_required',
  OptionNotAllowed: 'wamp.error.option_not_allowed',
  OptionDisallowedDiscloseMe: 'wamp.error.option_disallowed.disclose_me',
  FeatureNotSupported: 'wamp.error.feature_not_supported',
  SystemShutdown: 'wamp.close.system_shutdown',
} as const;

/** GOODBYE and ABORT reasons (Basic Profile "Session Closing"). */
export const WampClose = {
  SystemShutdown: 'wamp.close.system_shutdown',
  CloseRealm: 'wamp.close.close_realm',
  GoodbyeAndOut: 'wamp.close.goodbye_and_out',
  Killed: 'wamp.close.killed',
  Normal: 'wamp.close.normal',
} as const;

/** Client roles a HELLO may announce (Basic Profile "Client: Role and Feature Announcement"). */
export const CLIENT_ROLES = ['publisher', 'subscriber', 'caller', 'callee'] as const;
export type ClientRole = (typeof CLIENT_ROLES)[number];

/** What the broker announces in WELCOME (Advanced Profile "Feature Announcement"). */
export const BROKER_FEATURES = {
  publisher_identification: true,
  publisher_exclusion: true,
  subscriber_blackwhite_listing: true,
  pattern_based_subscription: true,
  session_meta_api: true,
  subscription_meta_api: true,
  event_history: true,
} as const;

/** What the dealer announces in WELCOME. */
export const DEALER_FEATURES = {
  caller_identification: true,
  pattern_based_registration: true,
  shared_registration: true,
  progressive_call_results: true,
  progressive_call_invocations: true,
  call_timeout: true,
  call_canceling: true,
  session_meta_api: true,
  registration_meta_api: true,
} as const;

/** Match policies of pattern-based subscriptions and registrations. */
export const MatchPolicy = { Exact: 'exact', Prefix: 'prefix', Wildcard: 'wildcard' } as const;
export type MatchPolicy = (typeof MatchPolicy)[keyof typeof MatchPolicy];

/** Invocation policies of shared registrations (Advanced Profile "Shared Registration"). */
export const InvokePolicy = { Single: 'single', RoundRobin: 'roundrobin', Random: 'random', First: 'first', Last: 'last' } as const;
export type InvokePolicy = (typeof InvokePolicy)[keyof typeof InvokePolicy];

/** Cancel modes (Advanced Profile "Call Canceling"). */
export const CancelMode = { Skip: 'skip', Kill: 'kill', KillNoWait: 'killnowait' } as const;
export type CancelMode = (typeof CancelMode)[keyof typeof CancelMode];

/** Metric names this adapter records (the transport adds `protoplex_` and the `protocol` label). */
export const Metric = {
  Publications: 'wamp_publications_total',
  Events: 'wamp_events_sent_total',
  EventsDropped: 'wamp_events_dropped_total',
  Calls: 'wamp_calls_total',
  Aborts: 'wamp_aborts_sent_total',
} as const;
