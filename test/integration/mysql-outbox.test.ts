import mysql from 'mysql2/promise';
import { GatewayErrorCode, isGatewayError } from '../../src/errors';
import type { OutboxEvent } from '../../src/outbox/events';
import { createMysqlPool, inTransaction, writeEvent, writeEvents } from '../../src/outbox/mysql';
import { createMysqlDatabase, type MysqlTestDatabase } from '../conformance/databases';
import { waitFor } from '../helpers/waitFor';

// Runs against the machine's MariaDB 10.11 (production targets MySQL 8), in a database of its own.

let db: MysqlTestDatabase;
let pool: mysql.Pool;

beforeAll(async () => {
  db = await createMysqlDatabase();
  await db.conn.query('CREATE TABLE rides (id VARCHAR(64) PRIMARY KEY, rider_id VARCHAR(64) NOT NULL) ENGINE = InnoDB');
  pool = createMysqlPool({ url: db.url, connectionLimit: 3 });
}, 30_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
}, 30_000);

const P = { lat: 52.52, lng: 13.405 };
const requested = (ride: string, occurredAt?: Date): OutboxEvent => ({
  type: 'RideRequested', aggregateId: ride, payload: { rider_id: 'rider-1', pickup: P, dropoff: P },
  ...(occurredAt ? { occurredAt } : {}), traceContext: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
});

async function count(table: 'rides' | 'outbox', ride: string): Promise<number> {
  const col = table === 'rides' ? 'id' : 'aggregate_id';
  const [rows] = await db.conn.query<mysql.RowDataPacket[]>(`SELECT count(*) AS n FROM ${table} WHERE ${col} = ?`, [ride]);
  return Number(rows[0]!['n']);
}

describe('MySQL outbox writer (MariaDB 10.11 here)', () => {
  it('inTransaction commits what the callback wrote, rolls all of it back when it throws, and always returns the connection', async () => {
    const small = createMysqlPool({ url: db.url, connectionLimit: 1 });
    try {
      const id = await inTransaction(small, async (conn) => {
        await conn.execute('INSERT INTO rides (id, rider_id) VALUES (?, ?)', ['ride-tx-ok', 'rider-1']);
        return (await writeEvent(conn, requested('ride-tx-ok'))).id;
      });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await expect(inTransaction(small, async (conn) => {
        await conn.execute('INSERT INTO rides (id, rider_id) VALUES (?, ?)', ['ride-tx-bad', 'rider-1']);
        await writeEvent(conn, requested('ride-tx-bad'));
        throw new Error('handler failed after its writes');
      })).rejects.toThrow('handler failed after its writes');
      // One connection in the pool: these would hang if either call had kept it.
      expect([await count('rides', 'ride-tx-ok'), await count('outbox', 'ride-tx-ok')]).toEqual([1, 1]);
      expect(await inTransaction(small, async (conn) => {
        const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT count(*) AS n FROM outbox WHERE aggregate_id = 'ride-tx-bad'");
        return Number(rows[0]!['n']);
      })).toBe(0);
      expect(await count('rides', 'ride-tx-bad')).toBe(0);
    } finally {
      await small.end();
    }
  });

  it('inTransaction rolls back when the server kills the connection mid-transaction, and the pool then hands out a new one', async () => {
    const small = createMysqlPool({ url: db.url, connectionLimit: 1 });
    try {
      let killed = -1;
      await expect(inTransaction(small, async (conn) => {
        await writeEvent(conn, requested('ride-tx-killed'));
        killed = conn.threadId;
        await db.conn.query('KILL ?', [killed]);
        await conn.query('SELECT 1'); // fails: the server closed this connection
      })).rejects.toThrow();
      expect(await count('outbox', 'ride-tx-killed')).toBe(0);
      // The only pool slot must now hold a new, working connection.
      const next = await inTransaction(small, async (conn) => {
        await conn.query('SELECT 1');
        return conn.threadId;
      });
      expect(next).not.toBe(killed);
    } finally {
      await small.end();
    }
  });

  it('commits the business row and its events together, with exact instants and JSON payloads', async () => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      await conn.execute('INSERT INTO rides (id, rider_id) VALUES (?, ?)', ['ride-ok', 'rider-1']);
      const written = await writeEvents(conn, [
        requested('ride-ok', new Date('2026-10-05T14:03:07.123Z')),
        { type: 'FareCalculated', aggregateId: 'ride-ok', payload: { amount: '12.50', currency: 'EUR', distance_km: '4.20' } },
      ]);
      await conn.commit();
      expect(written.map((w) => w.type)).toEqual(['RideRequested', 'FareCalculated']);
      expect(written[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      conn.release();
    }
    expect(await count('rides', 'ride-ok')).toBe(1);
    const [rows] = await db.conn.query<mysql.RowDataPacket[]>(
      `SELECT event_type, aggregate_type, payload, UNIX_TIMESTAMP(occurred_at) AS epoch, trace_context,
              TIMESTAMPDIFF(SECOND, occurred_at, CURRENT_TIMESTAMP(6)) AS age
       FROM outbox WHERE aggregate_id = 'ride-ok' ORDER BY event_type DESC`);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ event_type: 'RideRequested', aggregate_type: 'Ride', epoch: '1791208987.123000' });
    expect(rows[0]!['trace_context']).toMatch(/^00-/);
    const payload = rows[1]!['payload'];
    expect(typeof payload === 'string' ? JSON.parse(payload) : payload).toEqual({ amount: '12.50', currency: 'EUR', distance_km: '4.20' });
    expect(Math.abs(Number(rows[1]!['age']))).toBeLessThan(60); // no occurredAt: the server's now
  });

  it('rolls the event back with the business row when the service throws after writing the event', async () => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      await expect((async () => {
        await conn.execute('INSERT INTO rides (id, rider_id) VALUES (?, ?)', ['ride-crash', 'rider-1']);
        await writeEvent(conn, requested('ride-crash'));
        throw new Error('service crashed mid-transaction');
      })().catch(async (err: unknown) => {
        await conn.rollback();
        throw err;
      })).rejects.toThrow('service crashed');
    } finally {
      conn.release();
    }
    expect(await count('rides', 'ride-crash')).toBe(0);
    expect(await count('outbox', 'ride-crash')).toBe(0);
  });

  it('writes nothing when the connection dies mid-transaction (the server rolls back)', async () => {
    const conn = await mysql.createConnection({ uri: db.url });
    const [ids] = await conn.query<mysql.RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    const threadId = Number(ids[0]!['id']);
    await conn.beginTransaction();
    await conn.execute('INSERT INTO rides (id, rider_id) VALUES (?, ?)', ['ride-cut', 'rider-1']);
    await writeEvent(conn, requested('ride-cut'));
    conn.destroy(); // the process is killed before COMMIT
    await waitFor(async () => {
      const [rows] = await db.conn.query<mysql.RowDataPacket[]>('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]);
      return Number(rows[0]!['n']) === 0;
    });
    expect(await count('rides', 'ride-cut')).toBe(0);
    expect(await count('outbox', 'ride-cut')).toBe(0);
  });

  it('refuses a bad payload with BAD_OUTBOX_PAYLOAD before writing any event of the batch', async () => {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const err = await writeEvents(conn, [
        requested('ride-bad'),
        { type: 'FareCalculated', aggregateId: 'ride-bad', payload: { amount: 12.5, currency: 'EUR', distance_km: '1' } as never },
      ]).catch((e: unknown) => e);
      await conn.commit(); // even a caller that commits anyway has written nothing
      expect(isGatewayError(err, GatewayErrorCode.BAD_OUTBOX_PAYLOAD)).toBe(true);
      expect((err as Error).message).toContain('payload.amount');
    } finally {
      conn.release();
    }
    expect(await count('outbox', 'ride-bad')).toBe(0);
  });

  it('refuses an occurredAt outside the MySQL TIMESTAMP range', async () => {
    const err = await writeEvent({ execute: async () => { throw new Error('must not run'); } },
      requested('ride-2040', new Date('2040-01-01T00:00:00Z'))).catch((e: unknown) => e);
    expect(isGatewayError(err, GatewayErrorCode.BAD_OUTBOX_PAYLOAD)).toBe(true);
    expect((err as Error).message).toContain('2038');
  });

  it('stores the same instant whatever the session time zone', async () => {
    const conn = await mysql.createConnection({ uri: db.url });
    try {
      await conn.query("SET time_zone = '+05:30'");
      await writeEvent(conn, requested('ride-tz', new Date('2026-10-05T14:03:07.123Z')));
    } finally {
      await conn.end();
    }
    const [rows] = await db.conn.query<mysql.RowDataPacket[]>("SELECT UNIX_TIMESTAMP(occurred_at) AS epoch FROM outbox WHERE aggregate_id = 'ride-tz'");
    expect(rows[0]!['epoch']).toBe('1791208987.123000');
  });
});
