// Shapes of the IANA "WebSocket Protocol Registries" tables. Hand-written; the data itself lives in
// websocket.generated.ts, written by scripts/generate-registry.ts from iana/websocket-registries.xml.

/**
 * The kinds of `<xref>` the registry uses. The generator refuses any other kind, so a new one in a
 * future registry is added here on purpose rather than passed through untyped.
 */
export type ReferenceType = 'rfc' | 'rfc-errata' | 'draft' | 'uri' | 'person' | 'text';

/** One reference cell of the registry (an `<xref>`). */
export interface Reference {
  readonly type: ReferenceType;
  /**
   * The registry's value: `rfc6455`, `3227` (an erratum number), a draft name, a URI, a person id
   * from the registry's `<people>` section (`Jeff_Mesnil`), or free text for `text`.
   */
  readonly data: string;
  /** Human-readable label: the person's name for `person`, the link text the registry gives a URI. */
  readonly title?: string;
}

/** A row of the WebSocket Subprotocol Name Registry (RFC 6455 §11.5, RFC 7936). */
export interface SubprotocolRecord<Id extends string = string> {
  /** The `Sec-WebSocket-Protocol` token, matched case-sensitively (RFC 7936 §2). */
  readonly id: Id;
  /** "Subprotocol Common Name", whitespace collapsed. */
  readonly commonName: string;
  /** Definition text, when the registry gives prose instead of (or next to) a link. */
  readonly description?: string;
  /** Definition references first, then the registrant/reference column, without duplicates. */
  readonly references: readonly Reference[];
  /** "Change Controller", when the registry names one. */
  readonly controllers?: readonly Reference[];
  /** Registration date (`YYYY-MM-DD`); the oldest rows have none. */
  readonly registered?: string;
  /** Date of the last change to the row (`YYYY-MM-DD`). */
  readonly updated?: string;
}

/** A row of the WebSocket Extension Name Registry (RFC 6455 §11.4). */
export interface ExtensionRecord<Id extends string = string> {
  /** The extension token used in `Sec-WebSocket-Extensions`. */
  readonly id: Id;
  readonly commonName: string;
  readonly references: readonly Reference[];
  /** "Known Incompatible Extensions", as the registry writes it (`None` today). */
  readonly incompatible: string;
  readonly controllers?: readonly Reference[];
  readonly registered?: string;
  readonly updated?: string;
}

/** Status column of the WebSocket Version Number Registry (RFC 6455 §11.6). */
export type VersionStatus = 'Standard' | 'Interim' | 'Reserved';

/** A row of the WebSocket Version Number Registry (`Sec-WebSocket-Version`). */
export interface VersionNumberRecord {
  readonly value: number;
  /** `Reserved` for 9-12, which the registry lists with an empty status and the text "Reserved". */
  readonly status: VersionStatus;
  readonly reference: Reference;
}

/**
 * A row of the WebSocket Close Code Number Registry (RFC 6455 §11.7): one code (`from === to`)
 * or a range such as 1016-2999 "Unassigned" and 4000-4999 "Reserved for Private Use".
 * The rows are sorted, do not overlap and cover 1000-4999 without gaps (the generator checks it).
 */
export interface CloseCodeRange {
  readonly from: number;
  readonly to: number;
  /** The registry's "Meaning" column, whitespace collapsed. */
  readonly description: string;
  /** Reference column (1011 also cites erratum 3227); empty for unassigned ranges. */
  readonly references: readonly Reference[];
  /** Contact column; the 3000-3999 first-come-first-served codes have only this. */
  readonly contacts?: readonly Reference[];
  readonly registered?: string;
  readonly updated?: string;
}

/**
 * The registration procedure that governs a block of close codes (the registry's `<range>` rows,
 * RFC 6455 §11.7). Kept apart from {@link CloseCodeRange} because these blocks overlap the rows.
 */
export interface CloseCodeRegistrationRange {
  readonly from: number;
  readonly to: number;
  /** e.g. "First Come First Served". */
  readonly registrationRule: string;
}

/** What {@link closeCode} reports about one status code. */
export interface CloseCodeInfo {
  readonly code: number;
  /** The meaning of the registry row that holds the code ("Not used" for 0-999). */
  readonly description: string;
  /** The registry row that holds the code; 0-999 gets a synthetic row (RFC 6455 §7.4.2). */
  readonly range: CloseCodeRange;
  /** May be put in a Close frame (see {@link isSendableCloseCode}). */
  readonly sendable: boolean;
  /** One of 1004, 1005, 1006, 1015: defined by RFC 6455 §7.4.1 but never sent. */
  readonly reserved: boolean;
  /** The registry lists this exact code (its own row), as opposed to a range. */
  readonly assigned: boolean;
  /** 4000-4999, left to prior agreement between applications (RFC 6455 §7.4.2). */
  readonly privateUse: boolean;
}

/**
 * A row of the WebSocket Opcode Registry (RFC 6455 §11.8): one opcode (`from === to`) or an
 * unassigned range (3-7 for data frames, 11-15 for control frames).
 */
export interface OpcodeRecord {
  readonly from: number;
  readonly to: number;
  readonly description: string;
  readonly reference?: Reference;
}

/** A row of the WebSocket Framing Header Bits Registry (RFC 6455 §11.9). */
export interface HeaderBitRecord {
  /** `RSV1`, `RSV2` or `RSV3`. */
  readonly name: string;
  readonly description: string;
  readonly reference?: Reference;
  readonly registered?: string;
}
