import type mysql from 'mysql2/promise';
import { main } from '../../src/cli/index';
import { validateEvent, type EventType } from '../../src/outbox/events';
import { createMysqlDatabase, type MysqlTestDatabase } from '../conformance/databases';
import { captureIo } from '../helpers/cliIo';
import { waitFor } from '../helpers/waitFor';

// `wavegate simulate --to mysql://…` writes rides into a MySQL outbox, as the services would on the
// RisingWave path (the compose stack's simulator). Runs against the machine's MariaDB 10.11.

let db: MysqlTestDatabase;
beforeAll(async () => { db = await createMysqlDatabase(); }, 30_000);
afterAll(async () => db?.drop(), 30_000);


async function outbox(): Promise<Array<{ aggregate_id: string; event_type: EventType; payload: unknown }>> {
  const [rows] = await db.conn.query<mysql.RowDataPacket[]>('SELECT aggregate_id, event_type, payload, occurred_at FROM outbox ORDER BY occurred_at, id');
  return rows as Array<{ aggregate_id: string; event_type: EventType; payload: unknown }>;
}

describe('wavegate simulate --to mysql:// (MariaDB 10.11 standing in for MySQL 8)', () => {
  it('writes a batch of rides whose events all follow the contract, each ride starting with RideRequested', async () => {
    const { io, out } = captureIo({ WAVEGATE_SIM_RATE: '50' });
    expect(await main(['simulate', '--to', db.url, '--rides', '25', '--seed', '11'], io)).toBe(0);
    expect(out.stdout).toMatch(/Simulated 25 rides \(seed 11\).* into the MySQL outbox \(0 failed writes\)/);
    const rows = await outbox();
    const rides = new Map<string, EventType[]>();
    for (const r of rows) {
      const payload = typeof r.payload === 'string' ? JSON.parse(r.payload) as unknown : r.payload;
      validateEvent({ type: r.event_type, aggregateId: r.aggregate_id, payload });
      rides.set(r.aggregate_id, [...(rides.get(r.aggregate_id) ?? []), r.event_type]);
    }
    expect(rides.size).toBe(25);
    for (const events of rides.values()) expect(events[0]).toBe('RideRequested');
  });

  it('--live keeps writing until SIGTERM, then stops cleanly', async () => {
    await db.conn.query('DELETE FROM outbox');
    const { io, out, signal, listening } = captureIo({ WAVEGATE_SIM_RATE: '50' });
    const run = main(['simulate', '--to', db.url, '--live', '--seed', '3'], io);
    await waitFor(async () => listening() && (await outbox()).length >= 3, 20_000, 50);
    signal();
    expect(await run).toBe(0);
    expect(out.stdout).toMatch(/Stopped: \d+ rides, \d+ events written to the MySQL outbox/);
  });

  it('refuses a --to that is not a mysql:// URL with exit code 2', async () => {
    const { io, out } = captureIo({ WAVEGATE_SIM_RATE: '50' });
    expect(await main(['simulate', '--to', 'postgres://x@y/z'], io)).toBe(2);
    expect(out.stderr).toContain('--to takes a mysql:// URL');
  });
});
