import { assertCanReadOwner, canReadOwner, rowAllow, rowPredicate, tripScope, tripSubscriptionTarget } from '../../src/auth/policy';
import type { Viewer } from '../../src/auth/viewer';
import { GatewayErrorCode } from '../../src/errors';

const rider: Viewer = { sub: 'r1', role: 'rider' };
const driver: Viewer = { sub: 'd1', role: 'driver' };
const ops: Viewer = { sub: 'o1', role: 'ops' };
const code = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('row predicates', () => {
  it('pins riders to rider_id and drivers to driver_id; ops see all', () => {
    expect(rowPredicate(rider, 'trip_history')).toEqual({ kind: 'eq', column: 'rider_id', value: 'r1' });
    expect(rowPredicate(driver, 'trip_history')).toEqual({ kind: 'eq', column: 'driver_id', value: 'd1' });
    expect(rowPredicate(ops, 'trip_history')).toEqual({ kind: 'all' });
    expect(rowPredicate(rider, 'rider_stats')).toEqual({ kind: 'eq', column: 'rider_id', value: 'r1' });
    expect(rowPredicate(driver, 'rider_stats')).toEqual({ kind: 'none' });
    expect(rowPredicate(rider, 'driver_stats')).toEqual({ kind: 'none' });
    expect(rowPredicate(rider, 'driver_earnings_daily')).toEqual({ kind: 'none' });
    expect(rowPredicate(driver, 'driver_earnings_daily')).toEqual({ kind: 'eq', column: 'driver_id', value: 'd1' });
  });

  it('evaluates rows for subscriptions (a row missing the owner column is denied)', () => {
    const allow = rowAllow(rider, 'trip_history');
    expect(allow({ trip_id: 't', rider_id: 'r1' })).toBe(true);
    expect(allow({ trip_id: 't', rider_id: 'r2' })).toBe(false);
    expect(allow({ trip_id: 't' })).toBe(false);
    expect(rowAllow(driver, 'rider_stats')({ rider_id: 'r1' })).toBe(false);
    expect(rowAllow(ops, 'driver_stats')({})).toBe(true);
  });

  it('owner checks', () => {
    expect(canReadOwner(rider, 'rider_stats', 'r1')).toBe(true);
    expect(canReadOwner(rider, 'rider_stats', 'r2')).toBe(false);
    expect(canReadOwner(ops, 'driver_earnings_daily', 'anyone')).toBe(true);
    expect(code(() => assertCanReadOwner(driver, 'rider_stats', 'r1'))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(code(() => assertCanReadOwner(driver, 'driver_stats', 'd2'))).toBe(GatewayErrorCode.FORBIDDEN);
    expect(code(() => assertCanReadOwner(driver, 'driver_stats', 'd1'))).toBeUndefined();
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
