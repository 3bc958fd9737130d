/**
 * The reversible mapping between OCPP station traffic and canonical bus topics (EMQX convention):
 *
 * - `ocpp/cp/{identity}/{Action}`: a CALL or SEND the station made;
 * - `ocpp/cp/{identity}/{Action}/result`: the CALLRESULT or CALLERROR the CSMS answered it with;
 * - `ocpp/cs/{identity}/{Action}`: publish here to make the CSMS send that CALL to the station;
 * - `ocpp/cs/{identity}/{Action}/result`: its CALLRESULT or CALLERROR.
 *
 * Identity and action levels are escaped with core's `encodeTopicLevel`, so an identity holding
 * `/`, `+` or `#` cannot break the topic. Pure.
 */
import { decodeTopicLevel, encodeTopicLevel } from '@protoplex/core';

export const TOPIC_ROOT = 'ocpp';

/** One OCPP topic, decoded. */
export interface OcppTopic {
  /** `cp`: from the charging station; `cs`: to it, from the central system. */
  readonly direction: 'cp' | 'cs';
  readonly identity: string;
  readonly action: string;
  /** The answer topic rather than the message topic. */
  readonly result: boolean;
}

/** The canonical topic of `topic`. */
export function toBusTopic(topic: OcppTopic): string {
  const base = `${TOPIC_ROOT}/${topic.direction}/${encodeTopicLevel(topic.identity)}/${encodeTopicLevel(topic.action)}`;
  return topic.result ? `${base}/result` : base;
}

/** Decodes a canonical OCPP topic; undefined for anything else. */
export function fromBusTopic(topic: string): OcppTopic | undefined {
  const levels = topic.split('/');
  if (levels.length !== 4 && levels.length !== 5) return undefined;
  if (levels[0] !== TOPIC_ROOT) return undefined;
  const direction = levels[1];
  if (direction !== 'cp' && direction !== 'cs') return undefined;
  if (levels.length === 5 && levels[4] !== 'result') return undefined;
  const identity = levels[2]!;
  const action = levels[3]!;
  if (identity.length === 0 || action.length === 0) return undefined;
  return { direction, identity: decodeTopicLevel(identity), action: decodeTopicLevel(action), result: levels.length === 5 };
}

/** The commands of one station: `ocpp/cs/{identity}/+` (the adapter itself subscribes to {@link COMMAND_FILTER}). */
export function commandFilter(identity: string): string {
  return `${TOPIC_ROOT}/cs/${encodeTopicLevel(identity)}/+`;
}

/** The filter the adapter subscribes to once for every station's commands: `ocpp/cs/+/+`. */
export const COMMAND_FILTER = `${TOPIC_ROOT}/cs/+/+`;
