import { createHash } from 'node:crypto';
import { loadSqlParser } from '../../src/passthrough/guard/guard';
import { KEY, SessionDriver } from '../fixtures/pgwire/sessionDriver';
import {
  backendFrames, captured, cstr, decodeBackend, errorCodes, i16, i32, serialize, splitStartup, typed,
} from '../fixtures/pgwire/wire';
import { waitFor } from '../helpers/waitFor';

// The Session state machine after authentication, driven through SessionTransport with client
// bytes (captured from node-postgres and psql, or made by node-postgres' serializer) against a fake
// engine: the exact messages written back, ReadyForQuery's transaction status, SQLSTATEs, and what
// reached the engine.

beforeAll(async () => loadSqlParser());

const Z = (status: 'I' | 'T' | 'E') => typed('Z', Buffer.from(status));
const C = (tag: string) => typed('C', cstr(tag));
const text = (s: string) => Buffer.concat([i32(Buffer.byteLength(s)), Buffer.from(s)]);
const D = (...values: string[]) => typed('D', Buffer.concat([i16(values.length), ...values.map(text)]));
/** RowDescription: [name, type OID, typlen] per column, text format. */
const T = (...cols: Array<[string, number, number]>) =>
  typed('T', Buffer.concat([i16(cols.length), ...cols.flatMap(([n, oid, len]) => [cstr(n), i32(0), i16(0), i32(oid), i16(len), i32(-1), i16(0)])]));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A logged-in session of `user`; the welcome has been read. */
async function loggedIn(user: 'postgres' | 'rita' = 'postgres'): Promise<SessionDriver> {
  const d = new SessionDriver();
  await d.login(user);
  return d;
}

const TRIPS = [{ trip_id: 'ride-1', fare_amount: '12.50' }, { trip_id: 'ride-2', fare_amount: '7.05' }];

describe('Session: queries', () => {
  it('answers psql\'s captured two-statement Query byte for byte, audits each statement, and closes on Terminate', async () => {
    const d = new SessionDriver();
    const [startup, rest] = splitStartup(captured('psql-simple.json'));
    await d.login('postgres', undefined, startup);
    d.engine.answer = (sql) => (sql.startsWith('select 1') ? [{ '?column?': 1 }] : [{ '?column?': 'a;b' }]);
    d.send(rest);
    expect(await d.read()).toEqual(Buffer.concat([
      T(['?column?', 23, 4]), D('1'), C('SELECT 1'), T(['?column?', 25, -1]), D('a;b'), C('SELECT 1'), Z('I'),
    ]));
    await waitFor(() => d.transport.closed);
    expect(d.registry.unregistered).toEqual([KEY.pid]);
    expect(d.engine.statements).toEqual([{ sql: 'select 1\nLIMIT 51', params: [] }, { sql: "select 'a;b'\nLIMIT 51", params: [] }]);
    expect(d.audit().filter((l) => l.msg === 'sql statement')).toEqual([
      { msg: 'sql statement', user: 'postgres', role: 'ops', pid: KEY.pid, protocol: 'simple', stmt: sha256('select 1 /* ; drop table x */'),
        rows: 1, ms: expect.any(Number), outcome: 'ok' },
      { msg: 'sql statement', user: 'postgres', role: 'ops', pid: KEY.pid, protocol: 'simple', stmt: sha256("select 'a;b'"),
        rows: 1, ms: expect.any(Number), outcome: 'ok' },
    ]);
  });

  it('answers node-postgres\' captured Parse/Bind/Describe/Execute/Sync byte for byte', async () => {
    const d = new SessionDriver();
    const [startup, rest] = splitStartup(captured('node-pg-extended.json'));
    await d.login('postgres', undefined, startup);
    d.engine.answer = () => [{ a: 'x', b: 42 }];
    d.send(rest);
    expect(await d.read()).toEqual(Buffer.concat([
      typed('1'), typed('2'), T(['a', 25, -1], ['b', 23, 4]), D('x', '42'), C('SELECT 1'), Z('I'),
    ]));
    await waitFor(() => d.transport.closed);
    expect(d.engine.statements).toEqual([{ sql: 'SELECT $1::text AS a, $2::int AS b\nLIMIT 51', params: ['x', '42'] }]);
  });

  it('keeps the connection usable after a refused statement and reports the transaction status in ReadyForQuery', async () => {
    const d = await loggedIn();
    const answer = async (sql: string) => {
      d.send(serialize.query(sql));
      return d.read();
    };
    const refused = decodeBackend(await answer('DELETE FROM trip_history'));
    expect(refused).toEqual([expect.objectContaining({ name: 'error', severity: 'ERROR', code: '42501' }), expect.objectContaining({ name: 'readyForQuery', status: 'I' })]);
    expect(await answer('BEGIN')).toEqual(Buffer.concat([C('BEGIN'), Z('T')]));
    const missing = await answer('SELECT * FROM outbox');
    expect([errorCodes(missing), backendFrames(missing).at(-1)!.bytes]).toEqual([['42P01'], Z('E')]);
    const aborted = await answer('SELECT 1');
    expect([errorCodes(aborted), backendFrames(aborted).at(-1)!.bytes]).toEqual([['25P02'], Z('E')]);
    expect(await answer('ROLLBACK')).toEqual(Buffer.concat([C('ROLLBACK'), Z('I')]));
    const outside = decodeBackend(await answer('COMMIT'));
    expect(outside.map((m) => [m.name, m['code'] ?? m['text'] ?? m['status']])).toEqual([['notice', '25P01'], ['commandComplete', 'COMMIT'], ['readyForQuery', 'I']]);
    expect(d.engine.statements).toEqual([]);
  });

  it('extended protocol: an error skips to Sync, Describe tells parameter and column types, and Execute with a row limit suspends', async () => {
    const d = await loggedIn();
    d.engine.answer = () => TRIPS;
    d.send(serialize.parse({ text: 'SELECT trip_id FROM' }), serialize.bind(), serialize.describe({ type: 'P' }), serialize.execute(), serialize.sync());
    const skipped = await d.read();
    expect([errorCodes(skipped), backendFrames(skipped).map((f) => f.type).join('')]).toEqual([['42601'], 'EZ']);

    d.send(serialize.parse({ name: 's1', text: 'SELECT trip_id, fare_amount FROM trip_history WHERE status = $1' }),
      serialize.describe({ type: 'S', name: 's1' }), serialize.sync());
    expect(await d.read()).toEqual(Buffer.concat([
      typed('1'), typed('t', Buffer.concat([i16(1), i32(25)])), T(['trip_id', 25, -1], ['fare_amount', 1700, -1]), Z('I'),
    ]));

    d.send(serialize.bind({ statement: 's1', values: ['COMPLETED'] }), serialize.execute({ rows: 1 }), serialize.execute({ rows: 1 }), serialize.sync());
    expect(await d.read()).toEqual(Buffer.concat([
      typed('2'), D('ride-1', '12.50'), typed('s'), D('ride-2', '7.05'), C('SELECT 1'), Z('I'),
    ]));
    expect(d.engine.statements.map((s) => s.params)).toEqual([['COMPLETED']]);
    expect(d.engine.statements[0]!.sql).toContain('WHERE status = $1');

    d.send(serialize.parse({ name: 's1', text: 'SELECT 1' }), serialize.sync());
    expect(errorCodes(await d.read())).toEqual(['42P05']);
    d.send(serialize.close({ type: 'S', name: 's1' }), serialize.parse({ name: 's1', text: 'SELECT 1' }), serialize.sync());
    expect(await d.read()).toEqual(Buffer.concat([typed('3'), typed('1'), Z('I')]));
  });

  it('applies the user\'s row policy in the SQL the engine gets', async () => {
    const d = await loggedIn('rita');
    d.engine.answer = () => [];
    d.send(serialize.query('SELECT trip_id FROM trip_history'));
    expect(await d.read()).toEqual(Buffer.concat([T(['trip_id', 25, -1]), C('SELECT 0'), Z('I')]));
    expect(d.engine.statements[0]!.sql).toContain("'rider-1'");
  });

  it('reports application_name with ParameterStatus after SET, and answers SHOW from the session', async () => {
    const d = await loggedIn();
    d.send(serialize.query("SET application_name = 'metabase'"));
    expect(await d.read()).toEqual(Buffer.concat([typed('S', Buffer.concat([cstr('application_name'), cstr('metabase')])), C('SET'), Z('I')]));
    d.send(serialize.query('SHOW application_name'));
    expect(await d.read()).toEqual(Buffer.concat([T(['application_name', 25, -1]), D('metabase'), C('SHOW'), Z('I')]));
    d.send(serialize.query('SHOW data_directory'));
    expect(errorCodes(await d.read())).toEqual(['42704']);
    // Names that are properties of every JavaScript object are plain settings too.
    d.send(serialize.query('SET constructor = 1'));
    expect(await d.read()).toEqual(Buffer.concat([C('SET'), Z('I')]));
    d.send(serialize.query('RESET constructor'), serialize.query('SHOW constructor'));
    expect(errorCodes(await d.read((t) => t.split('Z').length - 1 === 2))).toEqual(['42704']);
  });

  it('stops a running statement on CancelRequest and at the statement timeout (57014), and cancels it on the engine', async () => {
    const d = await loggedIn();
    d.engine.answer = () => new Promise(() => undefined);
    d.send(serialize.query('SELECT trip_id FROM trip_history'));
    await waitFor(() => d.engine.statements.length === 1);
    d.session.cancelRunning();
    const cancelled = decodeBackend(await d.read());
    expect(cancelled).toEqual([
      expect.objectContaining({ name: 'error', code: '57014', message: 'canceling statement due to user request' }),
      expect.objectContaining({ name: 'readyForQuery', status: 'I' }),
    ]);
    await waitFor(() => d.engine.cancels.length === 1);
    expect(d.engine.cancels).toEqual([d.engine.statements[0]!.sql]);

    d.send(serialize.query('SET statement_timeout = 20'));
    expect(await d.read()).toEqual(Buffer.concat([C('SET'), Z('I')]));
    d.send(serialize.query('SELECT trip_id FROM trip_history'));
    const timedOut = decodeBackend(await d.read());
    expect(timedOut[0]).toMatchObject({ name: 'error', code: '57014', message: 'canceling statement due to statement timeout' });
  });

  it('pauses the transport when the client pipelines more than the backlog, and resumes once it drains', async () => {
    const d = await loggedIn();
    let release: (rows: Array<Record<string, unknown>>) => void = () => undefined;
    d.engine.answer = () => new Promise((resolve) => (release = resolve));
    d.send(serialize.query('SELECT trip_id FROM trip_history'), ...Array.from({ length: 300 }, () => serialize.sync()));
    expect([d.transport.pauses, d.transport.resumes]).toEqual([1, 0]);
    await waitFor(() => d.engine.statements.length === 1);
    release([{ trip_id: 'ride-1' }]);
    const reply = await d.read((t) => t.split('Z').length - 1 === 301);
    expect(backendFrames(reply).map((f) => f.type).join('')).toBe(`TDC${'Z'.repeat(301)}`);
    expect([d.transport.pauses, d.transport.resumes]).toEqual([1, 1]);
  });

  it.each<[string, string, Buffer]>([
    ['a message over the size limit (only its header sent)', 'message of 5004 bytes exceeds the 4096-byte limit', Buffer.from([0x51, 0, 0, 0x13, 0x8c])],
    ['a Query without its terminator', 'invalid Query message format', typed('Q', Buffer.from('SELECT 1'))],
    ['an unknown message type', 'invalid frontend message type 33', typed('!', Buffer.from('x'))],
    ['a Sync with a body', 'invalid Sync message format', typed('S', Buffer.from('extra'))],
    ['a Bind claiming 32767 parameter formats', 'invalid Bind message format', typed('B', Buffer.concat([cstr(''), cstr(''), i16(0x7fff)]))],
    ['a password message after authentication', 'unexpected password message', typed('p', Buffer.from('again'))],
  ])('after authentication, %s: FATAL 08P01 (%s) and the connection closed', async (_what, message, bytes) => {
    const d = await loggedIn();
    d.send(bytes);
    const reply = await d.read();
    expect(decodeBackend(reply)).toEqual([expect.objectContaining({ name: 'error', severity: 'FATAL', code: '08P01', message })]);
    expect(d.transport.closed).toBe(true);
    expect(d.registry.unregistered).toEqual([KEY.pid]);
  });
});
