import { runConformance } from '@protoplex/core/testing';
import { client } from './_test-utils.js';
import { stomp } from './adapter.js';
import { VERSION_OF_SUBPROTOCOL, type StompSubprotocol } from './constants.js';

const samples = [
  'CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\nheart-beat:1000,1000\n\n\0',
  'SUBSCRIBE\nid:0\ndestination:/topic/a.*\nack:client-individual\n\n\0',
  'SUBSCRIBE\nid:1\ndestination:/queue/q\nack:client\nprefetch-count:2\nreceipt:r\n\n\0',
  'SEND\ndestination:/topic/a.b\ncontent-type:text/plain\nx-h:a\\cb\n\nhello\0',
  'SEND\ndestination:/queue/q\nreply-to:/temp-queue/r\ncontent-length:3\n\na\0b\0\n\n',
  'ACK\nid:1-1\n\n\0',
  'NACK\nmessage-id:1-2\nsubscription:1\n\n\0',
  'BEGIN\ntransaction:t\n\n\0SEND\ndestination:/topic/x\ntransaction:t\n\n\0COMMIT\ntransaction:t\n\n\0',
  'UNSUBSCRIBE\nid:0\n\n\0',
  'DISCONNECT\nreceipt:77\n\n\0',
  '\n',
];

runConformance(() => stomp({ heartBeat: { outgoing: 1000, incoming: 1000 } }), {
  samples,
  async prepare(peer) {
    // Connected, subscribed to a topic and a queue, with an unacked delivery and heart-beats running.
    const protocol = peer.connection.protocol as StompSubprotocol;
    const c = client(peer, protocol);
    c.send('CONNECT', { 'accept-version': VERSION_OF_SUBPROTOCOL[protocol], host: '/', 'heart-beat': '1000,1000' });
    c.send('SUBSCRIBE', { id: 't', destination: '/topic/a.#' });
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/prepared', ack: 'client' });
    c.send('SEND', { destination: '/queue/prepared', 'reply-to': '/temp-queue/r' }, 'x');
    c.send('BEGIN', { transaction: 'open' });
  },
});

