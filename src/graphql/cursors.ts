/**
 * Opaque cursors: base64url of a versioned JSON object. Clients must not build or parse them;
 * the version lets the format change without breaking cursors in flight (a new version is refused
 * with BAD_USER_INPUT, not misread).
 */
import type { FeedPosition } from '../engine/types';
import { GatewayError, GatewayErrorCode, errors } from '../errors';
import { validCivilTime } from './schema/scalars';

/** Longest cursor accepted, in characters (a real one is well under 200). */
const MAX_CURSOR_LENGTH = 1024;
// requested_at as the engines print it: `2026-10-05 14:03:07.123456+00` (Postgres), `...+00:00` (RisingWave).
const TIMESTAMP_TEXT_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2})(?::?(\d{2})){0,2})?$/;
const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Position in the trips order (requested_at DESC NULLS LAST, trip_id DESC): the last row seen. */
export interface PageCursor {
  /** requested_at exactly as the engine printed it (full precision), or null. */
  readonly t: string | null;
  readonly id: string;
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode(cursor: string, what: string): Record<string, unknown> {
  const bad = () => errors.badInput(`Malformed ${what} cursor: pass a cursor exactly as the API returned it`);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || (value as { v?: unknown }).v !== 1) throw bad();
  return value as Record<string, unknown>;
}

/**
 * A timestamp the engine could have printed: the pattern, and fields that are a real time in the
 * years 0001-9999. A forged `2026-13-45 99:99:99` must be refused here, not by the engine's cast.
 */
function validTimestampText(t: string): boolean {
  const m = TIMESTAMP_TEXT_RE.exec(t);
  if (m === null) return false;
  const n = (i: number) => Number(m[i] ?? 0);
  return validCivilTime(n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8));
}

/** Encodes a trips page cursor. */
export function encodePageCursor(c: PageCursor): string {
  return encode({ v: 1, t: c.t, id: c.id });
}

/** Decodes a trips page cursor; BAD_USER_INPUT when it is not one. */
export function decodePageCursor(cursor: string): PageCursor {
  const v = decode(cursor, 'page');
  const { t, id } = v;
  const tOk = t === null || (typeof t === 'string' && validTimestampText(t));
  if (!tOk || typeof id !== 'string' || !ID_RE.test(id) || 'feed' in v) {
    throw errors.badInput('Malformed page cursor: pass a cursor exactly as the API returned it');
  }
  return { t: t as string | null, id };
}

/** Encodes a change-feed cursor: the feed's id and a position in it. */
export function encodeFeedCursor(feedId: string, position: FeedPosition): string {
  return encode({ v: 1, feed: feedId, pos: position });
}

/**
 * Decodes a change-feed cursor for the feed `feedId`. BAD_USER_INPUT when malformed; CURSOR_EXPIRED
 * when it belongs to another feed (the database was rebuilt, so its positions mean nothing now).
 */
export function decodeFeedCursor(feedId: string, cursor: string): FeedPosition {
  const v = decode(cursor, 'subscription');
  if (typeof v['feed'] !== 'string' || typeof v['pos'] !== 'string' || v['pos'].length === 0) {
    throw errors.badInput('Malformed subscription cursor: pass a cursor exactly as the API returned it');
  }
  if (v['feed'] !== feedId) {
    throw new GatewayError(GatewayErrorCode.CURSOR_EXPIRED,
      'The cursor belongs to an earlier change feed (the views were rebuilt): query the current rows and subscribe without a cursor');
  }
  return v['pos'];
}
