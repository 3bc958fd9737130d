import { runConformance } from '@protoplex/core/testing';
import { ocpp } from './adapter.js';

const NOW = '2026-11-25T12:00:00Z';

runConformance(
  () => {
    const csms = ocpp();
    csms.onCall('Heartbeat', () => ({ currentTime: NOW }));
    csms.onCall('BootNotification', () => ({ currentTime: NOW, interval: 300, status: 'Accepted' as const }));
    return csms;
  },
  {
    request: { url: '/ocpp/CP1', params: { identity: 'CP1' } },
    samples: [
      '[2,"1","Heartbeat",{}]',
      '[2,"2","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]',
      '[2,"3","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]',
      '[3,"4",{"status":"Accepted"}]',
      '[4,"5","NotImplemented","",{}]',
      '[6,"6","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2026-11-25T12:00:00Z","data":[]}]',
    ],
    prepare: (peer, harness) => {
      // A pending server CALL holds a timer; the release checks then mean something.
      peer.send('[2,"p1","Heartbeat",{}]');
      harness.bus.publish({ topic: 'ocpp/cs/CP1/ClearCache', payload: new TextEncoder().encode('{}'), origin: { protocol: 'test' }, qos: 0 });
    },
  },
);
