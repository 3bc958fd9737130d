/**
 * Retained messages: one per topic, written through to the persistence, read back in `setup`,
 * and sent to each new subscription whose filter matches.
 */
import { topicMatches } from '@protoplex/core';
import type { MqttPersistence } from './persistence.js';
import type { AppMessage } from './sessions.js';
import { fromStoredMessage, toStoredMessage } from './store.js';

export class RetainedStore {
  private readonly messages = new Map<string, AppMessage>();

  constructor(
    private readonly persistence: MqttPersistence,
    private readonly reportError: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.messages.size;
  }

  /** Reads the stored retained messages (server start). */
  async load(): Promise<void> {
    for (const stored of await this.persistence.listRetained()) {
      this.messages.set(stored.topic, fromStoredMessage(stored));
    }
  }

  /**
   * Keeps `message` as its topic's retained message, written through.
   * [MQTT-3.3.1-6] (5.0) "If the Payload contains zero bytes it is processed normally by the
   * Server but any retained message with the same topic name MUST be removed and any future
   * subscribers for the topic will not receive a retained message."
   */
  retain(message: AppMessage): void {
    if (message.payload.length === 0) {
      if (this.messages.delete(message.topic)) void this.persistence.deleteRetained(message.topic).catch(this.reportError);
      return;
    }
    this.messages.set(message.topic, message);
    void this.persistence.putRetained(toStoredMessage(message)).catch(this.reportError);
  }

  /** Keeps `message` in memory only (`$SYS` values, rebuilt on every start). */
  retainVolatile(message: AppMessage): void {
    this.messages.set(message.topic, message);
  }

  /** Calls `visit` for each unexpired retained message matching `filter`; expired ones are dropped on the way. */
  forEachMatching(filter: string, now: number, visit: (message: AppMessage) => void): void {
    for (const message of this.messages.values()) {
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        this.messages.delete(message.topic);
        continue;
      }
      if (topicMatches(filter, message.topic)) visit(message);
    }
  }
}
