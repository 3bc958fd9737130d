// The README's usage example; `pnpm run typecheck` compiles it.
import { createServer } from '@protoplex/server';
import { ocpp } from '@protoplex/ocpp';

// Boot, heart-beats, status, meter values, authorisation and transactions are answered out of the box.
const csms = ocpp({ securityProfile: 1, authenticate: ({ identity, password }) => password === `secret-of-${identity}`, heartbeatInterval: 60 });

// A handler of your own wins over the default answer.
csms.onCall('StatusNotification', (payload, { identity }) => {
  console.log(identity, payload);
  return {};
});

csms.on('connect', async ({ identity, protocol }) => {
  console.log(`${identity} connected with ${protocol}`);
  if (protocol === 'ocpp2.0.1') console.log(await csms.station(identity, 'ocpp2.0.1').call('GetVariables', { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] }));
});

const server = createServer({ routes: [{ path: '/ocpp/:identity', adapters: [csms], onNoMatch: 'close' }] });
const address = await server.listen(9220, '127.0.0.1');
console.log(`CSMS on ws://127.0.0.1:${address.port}/ocpp/{identity}`);
