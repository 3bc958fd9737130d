import { runConformance } from '@protoplex/core/testing';
import { SERIALIZERS } from './codec.js';
import { wamp } from './adapter.js';
import { ALL_ROLES, wampPeer } from './_test-utils.js';

const json = (message: unknown[]): string => SERIALIZERS.json.encode(message) as string;

runConformance(() => wamp(), {
  // Joined, subscribed and registered, so the release checks mean something.
  prepare(peer) {
    const serializer = peer.connection.protocol === 'wamp.2.msgpack' ? 'msgpack' : peer.connection.protocol === 'wamp.2.cbor' ? 'cbor' : 'json';
    const client = wampPeer(peer, serializer);
    client.send([1, 'realm1', { roles: ALL_ROLES }]);
    client.send([32, 1, {}, 'conformance.topic']);
    client.send([32, 2, { match: 'prefix' }, 'conformance']);
    client.send([64, 3, {}, 'conformance.procedure']);
    client.send([48, 4, { timeout: 5000 }, 'conformance.procedure', [1]]);
  },
  samples: [
    json([1, 'realm1', { roles: ALL_ROLES }]),
    json([16, 10, { acknowledge: true, exclude_me: false }, 'conformance.topic', [1], { a: 1 }]),
    json([32, 11, { match: 'wildcard' }, 'conformance..x']),
    json([48, 12, { receive_progress: true }, 'conformance.procedure', ['x']]),
    json([70, 1, { progress: true }, ['partial']]),
    json([49, 12, { mode: 'kill' }]),
    json([8, 68, 1, {}, 'app.error', ['no']]),
    json([6, {}, 'wamp.close.close_realm']),
    SERIALIZERS.msgpack.encode([1, 'realm1', { roles: ALL_ROLES }]) as Uint8Array,
    SERIALIZERS.cbor.encode([16, 10, {}, 'conformance.topic']) as Uint8Array,
  ],
});
