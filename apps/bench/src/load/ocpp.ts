/**
 * OCPP load: `stations` charging stations (`/ocpp/CP0001`, subprotocol `ocpp1.6`, or
 * `ocpp2.0.1` with `version: '2.0.1'`), raw `ws` speaking OCPP-J JSON arrays, each with one call
 * outstanding: a StatusNotification, and the next as soon as its CALLRESULT arrives. Calls per
 * second; latency is CALL to CALLRESULT.
 */
import { performance } from 'node:perf_hooks';
import { connect, connectMany, idleSession, Loop, numberOption, trafficSession, type LoadGenerator } from './common.js';

export const ocppCallsLoad: LoadGenerator = async ({ port, options }) => {
  const stations = numberOption(options, 'stations', 50);
  const v201 = options.version === '2.0.1';
  const protocol = v201 ? 'ocpp2.0.1' : 'ocpp1.6';
  const loop = new Loop();
  const { window } = loop;
  const sockets = await connectMany(stations, (i) => connect(`ws://127.0.0.1:${port}/ocpp/CP${String(i).padStart(4, '0')}`, [protocol]), 25);
  const calls = sockets.map((ws, station) => {
    let seq = 0;
    let sentAt = 0;
    let pending = '';
    const call = (): void => {
      pending = `${station}-${seq++}`;
      sentAt = performance.now();
      loop.outstanding++;
      const timestamp = new Date().toISOString();
      // The required fields of each version's StatusNotificationRequest schema.
      const payload = v201
        ? { timestamp, connectorStatus: seq % 2 === 0 ? 'Available' : 'Occupied', evseId: 1, connectorId: 1 }
        : { connectorId: 1, errorCode: 'NoError', status: seq % 2 === 0 ? 'Available' : 'Charging', timestamp };
      ws.send(JSON.stringify([2, pending, 'StatusNotification', payload]));
    };
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as [number, string, ...unknown[]];
      if (message[0] === 2) {
        // A call from the server (none expected): answer with an empty result.
        ws.send(JSON.stringify([3, message[1], {}]));
        return;
      }
      if (message[1] !== pending) return;
      loop.outstanding--;
      if (message[0] === 3) window.record(sentAt);
      else window.error(`CALLERROR ${JSON.stringify(message).slice(0, 120)}`);
      if (loop.running) call();
    });
    loop.watch(ws, 'station');
    return call;
  });
  return trafficSession(
    options,
    loop.traffic(sockets, () => {
      for (const call of calls) call();
    }),
  );
};

/**
 * Idle OCPP 2.0.1 stations, each offering permessage-deflate (as ws-based stations do by
 * default) and having sent one DataTransfer of 2 KiB (above ws's 1 KiB threshold, so it is
 * compressed and the server's inflate state exists) before going silent: the worst idle case
 * for compression memory.
 */
export const ocppIdleLoad: LoadGenerator = async ({ port, options }) => {
  const stations = numberOption(options, 'connections', 2000);
  const data = 'x'.repeat(2048);
  return idleSession(options, (round) =>
    connectMany(
      stations,
      async (i) => {
        const ws = await connect(`ws://127.0.0.1:${port}/ocpp/IDLE-${round}-${i}`, ['ocpp2.0.1'], { perMessageDeflate: { clientMaxWindowBits: 10 } });
        await new Promise<void>((resolve) => {
          ws.once('message', () => resolve());
          ws.send(JSON.stringify([2, `d${i}`, 'DataTransfer', { vendorId: 'bench', data }]));
        });
        return ws;
      },
      50,
    ),
  );
};

