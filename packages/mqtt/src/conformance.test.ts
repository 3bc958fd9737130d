import { runConformance } from '@protoplex/core/testing';
import { mqtt } from './adapter.js';
import { encodePacket } from './codec.js';
import { flush } from './_test-utils.js';

const connect4 = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'conf', clean: false, keepalive: 30, will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: false } }, 4);
// The prepared session ends with its connection (clean session): a persistent one would rightly
// keep its subscription on the bus while offline, which the server-wide leftover check counts.
const connectClean4 = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'conf-clean', clean: true, keepalive: 30, will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: false } }, 4);
const connect5 = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'conf5', clean: true, keepalive: 10, properties: { sessionExpiryInterval: 30, topicAliasMaximum: 4 } }, 5);

runConformance(() => mqtt({ aliases: true, sysInterval: 5 }), {
  samples: [
    connect4,
    connect5,
    encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+/#', qos: 2 }, { topic: '$share/g/b', qos: 1 }] }, 4),
    encodePacket({ cmd: 'publish', topic: 'a/b/c', payload: Buffer.from('hello'), qos: 1, messageId: 3, retain: true, dup: false }, 4),
    encodePacket({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('two'), qos: 2, messageId: 4, retain: false, dup: false }, 4),
    encodePacket({ cmd: 'pubrel', messageId: 4 }, 4),
    encodePacket({ cmd: 'puback', messageId: 1 }, 4),
    encodePacket({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['a/+/#'] }, 4),
    encodePacket({ cmd: 'pingreq' }, 4),
    encodePacket({ cmd: 'disconnect' }, 4),
    encodePacket({ cmd: 'publish', topic: 'x', payload: Buffer.from('p'), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 1, userProperties: { a: 'b' }, contentType: 'text/plain' } }, 5),
  ],
  // A connected, subscribed session with a keep-alive timer, so release checks mean something.
  async prepare(peer) {
    peer.send(connectClean4);
    await flush();
    peer.send(encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] }, 4));
  },
});
