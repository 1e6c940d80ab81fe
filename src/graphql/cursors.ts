/**
 * Opaque cursors: base64url of a versioned JSON object. Clients must not build or parse them;
 * the version lets the format change without breaking cursors in flight (a new version is refused
 * with BAD_USER_INPUT, not misread). Page cursors of connections are build/keyset.ts; change-feed
 * cursors (subscriptions, `feedCursor`) are here.
 */
import type { FeedPosition } from '../engine/types';
import { GatewayError, GatewayErrorCode, errors } from '../errors';

/** Longest cursor accepted, in characters (a real one is well under 200). */
const MAX_CURSOR_LENGTH = 1024;

/** base64url of the JSON of `value`. */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * The JSON object inside a cursor; BAD_USER_INPUT (naming `what`) unless it is a base64url JSON
 * object of at most {@link MAX_CURSOR_LENGTH} characters with a numeric `v`.
 */
export function decodeCursor(cursor: string, what: string): Record<string, unknown> {
  const bad = () => errors.badInput(`Malformed ${what} cursor: pass a cursor exactly as the API returned it`);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { v?: unknown }).v !== 'number') throw bad();
  return value as Record<string, unknown>;
}

/** Encodes a change-feed cursor: the feed's id and a position in it. */
export function encodeFeedCursor(feedId: string, position: FeedPosition): string {
  return encodeCursor({ v: 1, feed: feedId, pos: position });
}

/**
 * Decodes a change-feed cursor for the feed `feedId`. BAD_USER_INPUT when malformed; CURSOR_EXPIRED
 * when it belongs to another feed (the database was rebuilt, so its positions mean nothing now).
 */
export function decodeFeedCursor(feedId: string, cursor: string): FeedPosition {
  const v = decodeCursor(cursor, 'subscription');
  if (v['v'] !== 1 || typeof v['feed'] !== 'string' || typeof v['pos'] !== 'string' || v['pos'].length === 0) {
    throw errors.badInput('Malformed subscription cursor: pass a cursor exactly as the API returned it');
  }
  if (v['feed'] !== feedId) {
    throw new GatewayError(GatewayErrorCode.CURSOR_EXPIRED,
      'The cursor belongs to an earlier change feed (the views were rebuilt): query the current rows and subscribe without a cursor');
  }
  return v['pos'];
}
