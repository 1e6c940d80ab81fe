/**
 * RisingWave's error messages (exact texts from RisingWave v3.0.3's own tests, e2e_test/error_ui/)
 * read into PostgreSQL's terms, and the server version check.
 */
import { asPostgresError, EngineSqlError, parseRisingWaveMessage, stopReason } from '../../src/engine/risingwave/errors';
import { parseServerVersion, unsupportedServer } from '../../src/engine/risingwave/server';
import { GatewayError, GatewayErrorCode } from '../../src/errors';
import { recordingLogger } from '../../src/log';
import { engineError } from '../../src/passthrough/executor';
import type pg from 'pg';
import { FakeRisingWave } from '../conformance/fakeRisingWave';

const rw = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('RisingWave error messages', () => {
  it('reads the statement timeout of both protocols (XX000) as a timeout, and a KILL/CancelRequest as cancelled', () => {
    expect(stopReason(rw('XX000', 'Failed to run the query\n\nCaused by:\n  Query cancelled: timeout after 5 seconds'))).toBe('timeout');
    expect(stopReason(rw('XX000', 'Failed to execute the statement\n\nCaused by:\n  Query cancelled: timeout after 0 seconds'))).toBe('timeout');
    expect(stopReason(rw('XX000', 'Failed to run the query\n\nCaused by:\n  Query cancelled: Cancelled by user'))).toBe('cancelled');
    expect(stopReason(rw('XX000', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Scheduler error\n  2: Query cancelled: cancelled by user'))).toBe('cancelled');
    // PostgreSQL standing in.
    expect(stopReason(rw('57014', 'canceling statement due to statement timeout'))).toBe('timeout');
    expect(stopReason(rw('57014', 'canceling statement due to user request'))).toBe('cancelled');
    // Not stopped: a catalog error, or the words in another code.
    expect(stopReason(rw('42704', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Catalog error\n  2: table or source not found: nope'))).toBeUndefined();
    expect(stopReason(rw('22000', 'Query cancelled: timeout after 5 seconds'))).toBeUndefined();
  });

  it('takes the frame and the causes apart, a parser error\'s LINE/caret lines included', () => {
    expect(parseRisingWaveMessage('Failed to run the query\n\nCaused by:\n  sql parser error: expected statement, found: selet\nLINE 1: selet 1;\n        ^'))
      .toEqual({ frame: 'Failed to run the query', causes: ['sql parser error: expected statement, found: selet'] });
    expect(parseRisingWaveMessage('Failed to prepare the statement\n\nCaused by these errors (recent errors listed first):\n  1: Failed to bind expression: v1 + v2 = v3\n  2: Item not found: Invalid column: v1'))
      .toEqual({ frame: 'Failed to prepare the statement', causes: ['Failed to bind expression: v1 + v2 = v3', 'Item not found: Invalid column: v1'] });
    expect(parseRisingWaveMessage('relation "nope" does not exist')).toBeUndefined();
  });

  it.each([
    ['XX000', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Expr error\n  2: error while evaluating expression `general_div(\'1\', \'0\')`\n  3: Division by zero',
      '22012', "Expr error: error while evaluating expression `general_div('1', '0')`: Division by zero"],
    ['XX000', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Failed to bind expression: v1 + v2 = v3\n  2: Item not found: Invalid column: v1',
      '42703', 'Failed to bind expression: v1 + v2 = v3: Item not found: Invalid column: v1'],
    ['XX000', 'Failed to run the query\n\nCaused by:\n  sql parser error: expected statement, found: selet\nLINE 1: selet 1;\n        ^', '42601', 'sql parser error: expected statement, found: selet'],
    ['XX000', 'Failed to run the query\n\nCaused by:\n  Bind error: RECURSIVE CTE is not supported', '42000', 'Bind error: RECURSIVE CTE is not supported'],
    ['42704', 'Failed to prepare the statement\n\nCaused by these errors (recent errors listed first):\n  1: Catalog error\n  2: table or source not found: nope', '42704', 'Catalog error: table or source not found: nope'],
    ['42710', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Catalog error\n  2: materialized view with name trip_history exists', '42710', 'Catalog error: materialized view with name trip_history exists'],
    ['XX000', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: gRPC request to meta service failed: Internal error\n  2: unexpected', 'XX000', 'gRPC request to meta service failed: Internal error: unexpected'],
  ])('%s "%s" is %s in PostgreSQL\'s terms', (code, message, pgCode, text) => {
    const original = rw(code, message);
    const out = asPostgresError(original);
    expect(out).toBeInstanceOf(EngineSqlError);
    expect(out).toMatchObject({ code: pgCode, message: text, cause: original });
  });

  it('leaves PostgreSQL\'s own errors alone', () => {
    const pgErr = rw('42P01', 'relation "nope" does not exist');
    expect(asPostgresError(pgErr)).toBe(pgErr);
    expect(asPostgresError('boom')).toBe('boom');
  });
});

describe('what the SQL passthrough makes of them', () => {
  const masked = (cause: unknown) => new GatewayError(GatewayErrorCode.INTERNAL_SERVER_ERROR, 'The engine failed to run a query', { safe: false, cause });
  const rwDiv = rw('XX000', 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Expr error\n  2: error while evaluating expression `general_div(\'1\', \'0\')`\n  3: Division by zero');

  it('passes a RisingWave SQL error with its PostgreSQL code and text, and masks what stays XX000', () => {
    const log = recordingLogger();
    expect(engineError(masked(asPostgresError(rwDiv)), log)).toMatchObject({ sqlState: '22012', message: "Expr error: error while evaluating expression `general_div('1', '0')`: Division by zero" });
    // Before the engine read RisingWave's cause, this was the answer: XX000, text hidden.
    expect(engineError(masked(rwDiv), log)).toMatchObject({ sqlState: 'XX000', message: expect.stringMatching(/^internal error \(id [0-9a-f]{8}\)$/) });
    expect(engineError(masked(asPostgresError(rw('XX000', 'Failed to run the query\n\nCaused by:\n  Storage error: oops'))), log).sqlState).toBe('XX000');
  });

  it('answers 57014 for RisingWave\'s timeout and cancel as the engine reports them', () => {
    const log = recordingLogger();
    const unavailable = (reason: string) => new GatewayError(GatewayErrorCode.ENGINE_UNAVAILABLE, 'x', { details: { reason } });
    expect(engineError(unavailable('timeout'), log)).toMatchObject({ sqlState: '57014', message: 'canceling statement due to statement timeout' });
    expect(engineError(unavailable('cancelled'), log)).toMatchObject({ sqlState: '57014', message: 'canceling statement due to user request' });
    expect(engineError(unavailable('unreachable'), log)).toMatchObject({ sqlState: '57P03' });
  });
});

describe('the fake RisingWave of the migrate tests', () => {
  it('refuses a duplicate CREATE with 42710 and an unknown DROP with 42704, in RisingWave\'s words', async () => {
    const fake = new FakeRisingWave({} as pg.Client); // DDL never reaches PostgreSQL
    await fake.query('CREATE MATERIALIZED VIEW trip_history AS\nSELECT 1');
    const dup = await fake.query('CREATE MATERIALIZED VIEW trip_history AS\nSELECT 1').catch((e: unknown) => e);
    expect(dup).toMatchObject({ code: '42710', message: 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Catalog error\n  2: materialized view with name trip_history exists' });
    const missing = await fake.query('DROP SINK trip_history_sink').catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: '42704', message: 'Failed to run the query\n\nCaused by these errors (recent errors listed first):\n  1: Catalog error\n  2: sink not found: trip_history_sink' });
    expect(asPostgresError(missing)).toMatchObject({ code: '42704', message: 'Catalog error: sink not found: trip_history_sink' });
  });
});

describe('server version', () => {
  it('reads RisingWave\'s version() and refuses versions before 3.0, which ignore startup options', () => {
    const v303 = parseServerVersion('PostgreSQL 13.14.0-RisingWave-3.0.3 (ec07f2eb759bd2d8a12a55b030bf581b82adb4b9)');
    expect(v303).toEqual({ kind: 'risingwave', version: '3.0.3', major: 3, minor: 0 });
    expect(unsupportedServer(v303)).toBeUndefined();
    expect(unsupportedServer(parseServerVersion('PostgreSQL 13.14.0-RisingWave-3.1.0-alpha (abc)'))).toBeUndefined();
    expect(unsupportedServer(parseServerVersion('PostgreSQL 13.14.0-RisingWave-2.8.5 (02a62d6a)'))).toMatch(/^RisingWave 2\.8\.5 is not supported/);
    expect(unsupportedServer(parseServerVersion('PostgreSQL 13.14.0-RisingWave-2.7.0 (x)'))).toMatch(/^RisingWave 2\.7\.0 is not supported/);
    const pg = parseServerVersion('PostgreSQL 15.14 (Debian 15.14-0+deb12u1) on x86_64-pc-linux-gnu');
    expect(pg.kind).toBe('postgres');
    expect(unsupportedServer(pg)).toBeUndefined();
  });
});
