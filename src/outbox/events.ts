import { GatewayError, GatewayErrorCode } from '../errors';
import { isWholeInRange } from '../util/integer';

/**
 * The outbox event contract: every service writes these, RisingWave (or the embedded engine)
 * reads them, the views in `schema/` are defined over them. Documented in docs/EVENTS.md.
 *
 * Conventions (from RisingWave's JSON rules, [SQL4] in docs/RISINGWAVE.md, "RisingWave behaviours
 * Wavegate depends on"): money and distances are JSON *strings* holding decimals (`"12.50"`),
 * because RisingWave casts JSON numbers through f64; views read them with
 * `(payload->>'amount')::numeric`. Ids are strings. Coordinates are JSON numbers (f64 is exact
 * enough for them).
 */
export const EVENT_TYPES = [
  'RideRequested',
  'DriverAssigned',
  'FareCalculated',
  'RideStarted',
  'RideCompleted',
  'RideCancelled',
  'PaymentCaptured',
  'TripRated',
] as const;

/** One of the event types in {@link EVENT_TYPES}. */
export type EventType = (typeof EVENT_TYPES)[number];

/** A point on the map. */
export interface GeoPoint { lat: number; lng: number }

/** Payload of each event type. All belong to aggregate type `Ride`, aggregate id = ride id. */
export interface EventPayloads {
  RideRequested: { rider_id: string; pickup: GeoPoint; dropoff: GeoPoint };
  DriverAssigned: { driver_id: string; eta_seconds: number };
  FareCalculated: { amount: string; currency: string; distance_km: string };
  RideStarted: { driver_id: string };
  RideCompleted: { driver_id: string; distance_km: string };
  RideCancelled: { cancelled_by: 'rider' | 'driver' | 'system'; reason: string };
  PaymentCaptured: { amount: string; currency: string; payment_id: string };
  TripRated: { rated_by: 'rider' | 'driver'; rating: number };
}

/** The aggregate type every ride event belongs to. */
export const RIDE_AGGREGATE = 'Ride';

type FieldRule =
  | { kind: 'id' }
  | { kind: 'decimal' }
  | { kind: 'currency' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'text'; maxLength: number }
  | { kind: 'point' };

const ID: FieldRule = { kind: 'id' };
const DECIMAL: FieldRule = { kind: 'decimal' };
const CURRENCY: FieldRule = { kind: 'currency' };
const POINT: FieldRule = { kind: 'point' };

/** Field rules per event type; every field listed is required, no others are accepted. */
const RULES: { [T in EventType]: { [K in keyof EventPayloads[T]]-?: FieldRule } } = {
  RideRequested: { rider_id: ID, pickup: POINT, dropoff: POINT },
  DriverAssigned: { driver_id: ID, eta_seconds: { kind: 'int', min: 0, max: 86_400 } },
  FareCalculated: { amount: DECIMAL, currency: CURRENCY, distance_km: DECIMAL },
  RideStarted: { driver_id: ID },
  RideCompleted: { driver_id: ID, distance_km: DECIMAL },
  RideCancelled: { cancelled_by: { kind: 'enum', values: ['rider', 'driver', 'system'] }, reason: { kind: 'text', maxLength: 500 } },
  PaymentCaptured: { amount: DECIMAL, currency: CURRENCY, payment_id: ID },
  TripRated: { rated_by: { kind: 'enum', values: ['rider', 'driver'] }, rating: { kind: 'int', min: 1, max: 5 } },
};

const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
// Up to 12 integer digits and 4 decimals: fits RisingWave's 28-digit numeric with room to sum.
const DECIMAL_RE = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$/;
const CURRENCY_RE = /^[A-Z]{3}$/;

function checkField(rule: FieldRule, value: unknown): string | undefined {
  switch (rule.kind) {
    case 'id':
      return typeof value === 'string' && ID_RE.test(value) ? undefined : 'must be an id: 1-64 of A-Z a-z 0-9 _ . : -';
    case 'decimal':
      return typeof value === 'string' && DECIMAL_RE.test(value) ? undefined : 'must be a non-negative decimal in a JSON string, e.g. "12.50"';
    case 'currency':
      return typeof value === 'string' && CURRENCY_RE.test(value) ? undefined : 'must be an ISO 4217 code, e.g. "USD"';
    case 'int':
      return isWholeInRange(value, rule.min, rule.max)
        ? undefined : `must be a whole number from ${rule.min} to ${rule.max}`;
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value) ? undefined : `must be one of ${rule.values.join(', ')}`;
    case 'text':
      return typeof value === 'string' && value.length <= rule.maxLength ? undefined : `must be a string of at most ${rule.maxLength} characters`;
    case 'point': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object {lat, lng}';
      const p = value as Record<string, unknown>;
      const keys = Object.keys(p);
      const lat = p['lat'];
      const lng = p['lng'];
      if (keys.length !== 2 || typeof lat !== 'number' || typeof lng !== 'number') return 'must be exactly {lat, lng} numbers';
      if (!(Math.abs(lat) <= 90) || !(Math.abs(lng) <= 180)) return 'lat must be within ±90 and lng within ±180';
      return undefined;
    }
  }
}

/** An event as a service hands it to the outbox writer. */
export interface OutboxEvent<T extends EventType = EventType> {
  type: T;
  /** Ride id (aggregate id); 1-64 of A-Z a-z 0-9 _ . : - */
  aggregateId: string;
  payload: EventPayloads[T];
  /** W3C `traceparent` of the writing request, carried through to consumers. */
  traceContext?: string;
  /** When the event happened. @default the database's now() */
  occurredAt?: Date;
}

function bad(message: string, path: string): GatewayError {
  return new GatewayError(GatewayErrorCode.BAD_OUTBOX_PAYLOAD, `${path} ${message}`, { details: { path } });
}

/**
 * Checks an event against the contract. Throws `BAD_OUTBOX_PAYLOAD` naming the first bad field.
 * Accepts `unknown` so callers outside TypeScript (HTTP, other languages' fixtures) are checked too.
 */
export function validateEvent(event: unknown): asserts event is OutboxEvent {
  if (typeof event !== 'object' || event === null) throw bad('must be an object', 'event');
  const e = event as Record<string, unknown>;
  const type = e['type'];
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    throw bad(`must be one of ${EVENT_TYPES.join(', ')}`, 'type');
  }
  if (typeof e['aggregateId'] !== 'string' || !ID_RE.test(e['aggregateId'])) {
    throw bad('must be an id: 1-64 of A-Z a-z 0-9 _ . : -', 'aggregateId');
  }
  const tc = e['traceContext'];
  if (tc !== undefined && (typeof tc !== 'string' || tc.length > 512)) throw bad('must be a string of at most 512 characters', 'traceContext');
  const at = e['occurredAt'];
  if (at !== undefined && !(at instanceof Date && !Number.isNaN(at.getTime()))) throw bad('must be a valid Date', 'occurredAt');
  const payload = e['payload'];
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw bad('must be an object', 'payload');
  const rules = RULES[type as EventType] as Record<string, FieldRule>;
  const p = payload as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (!(key in rules)) throw bad(`is not a field of ${type}`, `payload.${key}`);
  }
  for (const [key, rule] of Object.entries(rules)) {
    if (!(key in p)) throw bad('is required', `payload.${key}`);
    const problem = checkField(rule, p[key]);
    if (problem !== undefined) throw bad(problem, `payload.${key}`);
  }
}
