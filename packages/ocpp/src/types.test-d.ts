// Type tests: `tsc --noEmit` checks this file (vitest does not run it).
import { describe, expectTypeOf, it } from 'vitest';
import { ocpp } from './adapter.js';
import type { Ocpp16, Ocpp201, Ocpp21 } from './index.js';
import type { ActionOf, CallActionOf, RequestOf, ResponseOf } from './types.js';

// Checked by `tsc --noEmit` (this file is in the project); the runtime part only makes sure the
// calls below are legal to make.
describe('types', () => {
  it('types station.call per version', () => {
    const csms = ocpp();
    const v201 = csms.station('CP1', 'ocpp2.0.1');
    expectTypeOf(v201.call<'Reset'>).parameter(1).toEqualTypeOf<Ocpp201.ResetRequest>();
    expectTypeOf(v201.call<'Reset'>).returns.resolves.toEqualTypeOf<Ocpp201.ResetResponse>();
    const v16 = csms.station('CP1', 'ocpp1.6');
    expectTypeOf(v16.call<'Reset'>).parameter(1).toEqualTypeOf<Ocpp16.ResetRequest>();
    // @ts-expect-error TransactionEvent does not exist in 1.6
    void v16.call('TransactionEvent', {}).catch(() => {});
    // @ts-expect-error 'Later' is not a 2.0.1 ResetEnumType
    void v201.call('Reset', { type: 'Later' }).catch(() => {});
    // @ts-expect-error 1.6 Reset types are Hard and Soft
    void v16.call('Reset', { type: 'Immediate' }).catch(() => {});
    const v21 = csms.station('CP1', 'ocpp2.1');
    expectTypeOf(v21.call<'Reset'>).parameter(1).toEqualTypeOf<Ocpp21.ResetRequest>();
    expectTypeOf(v21.call<'Reset'>).returns.resolves.toEqualTypeOf<Ocpp21.ResetResponse>();
    expectTypeOf(v21.call<'SetDERControl'>).parameter(1).toEqualTypeOf<Ocpp21.SetDERControlRequest>();
    // @ts-expect-error SetDERControl is new in 2.1
    void v201.call('SetDERControl', {}).catch(() => {});
    // @ts-expect-error NotifyPeriodicEventStream is a SEND-only message: it cannot be a CALL
    void v21.call('NotifyPeriodicEventStream', { id: 1, pending: 0, basetime: '', data: [] }).catch(() => {});
    // @ts-expect-error a required field is missing
    void v21.call('GetVariables', {}).catch(() => {});
    const any = csms.station('CP1');
    expectTypeOf(any.call<'GetVariables'>).parameter(1).toEqualTypeOf<Ocpp201.GetVariablesRequest | Ocpp21.GetVariablesRequest>();
    expectTypeOf(any.call<'RemoteStartTransaction'>).parameter(1).toEqualTypeOf<Ocpp16.RemoteStartTransactionRequest>();
    expectTypeOf(any.call<'Reset'>).parameter(1).toEqualTypeOf<Ocpp16.ResetRequest | Ocpp201.ResetRequest | Ocpp21.ResetRequest>();
  });

  it('types onCall handlers per version', () => {
    const csms = ocpp();
    csms.onCall(
      'BootNotification',
      (payload, context) => {
        expectTypeOf(payload).toEqualTypeOf<Ocpp16.BootNotificationRequest>();
        expectTypeOf(context.protocol).toEqualTypeOf<'ocpp1.6'>();
        return { currentTime: '', interval: 1, status: 'Accepted' };
      },
      { versions: ['ocpp1.6'] },
    );
    csms.onCall('TransactionEvent', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<Ocpp201.TransactionEventRequest | Ocpp21.TransactionEventRequest>();
      return {};
    });
    // @ts-expect-error StartTransaction is not a 2.1 action
    csms.onCall('StartTransaction', () => ({}), { versions: ['ocpp2.1'] });
    // @ts-expect-error the 1.6 Heartbeat response needs currentTime
    csms.onCall('Heartbeat', () => ({}), { versions: ['ocpp1.6'] });
  });

  it('derives action unions and payload types', () => {
    expectTypeOf<'NotifyPeriodicEventStream'>().toMatchTypeOf<ActionOf<'ocpp2.1'>>();
    expectTypeOf<'NotifyPeriodicEventStream'>().not.toMatchTypeOf<CallActionOf<'ocpp2.1'>>();
    expectTypeOf<'Heartbeat'>().toMatchTypeOf<CallActionOf<'ocpp1.6'>>();
    expectTypeOf<RequestOf<'ocpp1.6', 'Authorize'>>().toEqualTypeOf<Ocpp16.AuthorizeRequest>();
    expectTypeOf<ResponseOf<'ocpp2.1', 'NotifyPeriodicEventStream'>>().toEqualTypeOf<void>();
  });
});
