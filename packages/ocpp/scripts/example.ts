// The README's usage example; `pnpm run typecheck` compiles it.
import { createServer } from '@protoplex/server';
import { ocpp } from '@protoplex/ocpp';

const csms = ocpp({ securityProfile: 1, authenticate: ({ identity, password }) => password === `secret-of-${identity}` });

csms.onCall('BootNotification', () => ({ currentTime: new Date().toISOString(), interval: 300, status: 'Accepted' as const }));
csms.onCall('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
csms.onCall('StatusNotification', () => ({}));

csms.on('connect', async ({ identity, protocol }) => {
  console.log(`${identity} connected with ${protocol}`);
  if (protocol === 'ocpp2.0.1') console.log(await csms.station(identity, 'ocpp2.0.1').call('GetVariables', { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] }));
});

const server = createServer({ routes: [{ path: '/ocpp/:identity', adapters: [csms], onNoMatch: 'close' }] });
const address = await server.listen(9220, '127.0.0.1');
console.log(`CSMS on ws://127.0.0.1:${address.port}/ocpp/{identity}`);
