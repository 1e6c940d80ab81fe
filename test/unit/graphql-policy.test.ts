import type { Viewer } from '../../src/auth/viewer';
import { GatewayErrorCode } from '../../src/errors';
import { assertCanReadRow, canReadRow, canReadTrip, policySql, rowAllow, tripScope, tripSubscriptionTarget } from '../../src/graphql/policy';
import { SqlParams } from '../../src/permissions/compile';

const rider: Viewer = { sub: 'r1', role: 'rider', claims: {} };
const driver: Viewer = { sub: 'd1', role: 'driver', claims: {} };
const ops: Viewer = { sub: 'o1', role: 'ops', claims: {} };
const code = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('the ride-hailing resolvers\' policy, compiled from the bundled declarations', () => {
  const sql = (view: string, v: Viewer) => {
    const params = new SqlParams();
    return { text: policySql(view, v, params), params: params.values };
  };

  it('pins riders to rider_id and drivers to driver_id; ops see all', () => {
    expect(sql('trip_history', rider)).toEqual({ text: 'rider_id = $1', params: ['r1'] });
    expect(sql('trip_history', driver)).toEqual({ text: 'driver_id = $1', params: ['d1'] });
    expect(sql('trip_history', ops)).toEqual({ text: undefined, params: [] });
    expect(sql('rider_stats', rider)).toEqual({ text: 'rider_id = $1', params: ['r1'] });
    expect(sql('rider_stats', driver)).toEqual({ text: 'FALSE', params: [] });
    expect(sql('driver_earnings_daily', rider)).toEqual({ text: 'FALSE', params: [] });
    expect(sql('driver_earnings_daily', driver)).toEqual({ text: 'driver_id = $1', params: ['d1'] });
    expect(sql('trip_history', { sub: 'x', role: 'analyst', claims: {} })).toEqual({ text: undefined, params: [] });
    expect(sql('trip_history', { sub: 'x', role: 'nobody', claims: {} })).toEqual({ text: 'FALSE', params: [] });
  });

  it('lets riders read the profile of the drivers of their own trips (schema/driver_stats.yaml)', () => {
    expect(sql('driver_stats', rider)).toEqual({ text: 'driver_id IN (SELECT driver_id FROM trip_history WHERE rider_id = $1)', params: ['r1'] });
  });

  it('evaluates rows for subscriptions (a row missing the owner column is denied)', () => {
    const allow = rowAllow(rider, 'trip_history');
    expect(allow({ trip_id: 't', rider_id: 'r1' })).toBe(true);
    expect(allow({ trip_id: 't', rider_id: 'r2' })).toBe(false);
    expect(allow({ trip_id: 't' })).toBe(false);
    expect(rowAllow(driver, 'rider_stats')({ rider_id: 'r1' })).toBe(false);
    expect(rowAllow(ops, 'driver_stats')({})).toBe(true);
    expect(canReadTrip(driver, { trip_id: 't', driver_id: 'd1' })).toBe(true);
  });

  it('owner checks need the whole row: riders read only the public columns of driver_stats', () => {
    expect(canReadRow(rider, 'rider_stats', { rider_id: 'r1' })).toBe(true);
    expect(canReadRow(rider, 'rider_stats', { rider_id: 'r2' })).toBe(false);
    expect(canReadRow(ops, 'driver_earnings_daily', { driver_id: 'anyone' })).toBe(true);
    expect(canReadRow(rider, 'driver_stats', { driver_id: 'd1' })).toBe(false);
    expect(code(() => assertCanReadRow(driver, 'rider_stats', { rider_id: 'r1' }))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(code(() => assertCanReadRow(driver, 'driver_stats', { driver_id: 'd2' }))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(code(() => assertCanReadRow(driver, 'driver_stats', { driver_id: 'd1' }))).toBeUndefined();
  });
});

describe('trip arguments', () => {
  it('defaults riders and drivers to themselves and refuses someone else', () => {
    expect(tripScope(rider, {})).toEqual({ riderId: 'r1' });
    expect(tripScope(rider, { riderId: 'r1', driverId: 'd9' })).toEqual({ riderId: 'r1', driverId: 'd9' });
    expect(code(() => tripScope(rider, { riderId: 'r2' }))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(tripScope(driver, { riderId: 'r5' })).toEqual({ riderId: 'r5', driverId: 'd1' });
    expect(code(() => tripScope(driver, { driverId: 'd2' }))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(tripScope(ops, {})).toEqual({});
    expect(tripScope(ops, { riderId: 'r2' })).toEqual({ riderId: 'r2' });
  });

  it('picks one subscription filter', () => {
    expect(tripSubscriptionTarget(rider, {})).toEqual({ column: 'rider_id', value: 'r1' });
    expect(tripSubscriptionTarget(rider, { driverId: 'd3' })).toEqual({ column: 'driver_id', value: 'd3' });
    expect(tripSubscriptionTarget(driver, {})).toEqual({ column: 'driver_id', value: 'd1' });
    expect(tripSubscriptionTarget(driver, { riderId: 'r4' })).toEqual({ column: 'rider_id', value: 'r4' });
    expect(tripSubscriptionTarget(rider, { tripId: 't1' })).toEqual({ column: 'trip_id', value: 't1' });
    expect(tripSubscriptionTarget(ops, {})).toEqual({ column: undefined, value: undefined });
    expect(code(() => tripSubscriptionTarget(rider, { riderId: 'r2' }))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(code(() => tripSubscriptionTarget(ops, { riderId: 'r2', tripId: 't' }))).toBe(GatewayErrorCode.BAD_USER_INPUT);
  });
});
