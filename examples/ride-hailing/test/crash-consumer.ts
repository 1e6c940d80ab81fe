/**
 * Child process for the crash test (test/integration/consumer.test.ts): a consumer whose handler
 * writes a ledger row and emits DriverAssigned for each RideRequested — and, for the ride named in
 * `blockRide`, reports `INFLIGHT <connection id>` on stdout *inside* the open transaction and then
 * never returns. The test SIGKILLs the process at that moment: no commit, no LeaveGroup, no
 * offset commit, an open database transaction — a real crash.
 *
 * Offsets are committed only at batch ends (huge commit interval and threshold), so everything
 * handled before the block is committed in MariaDB but not in Kafka and comes back to the next
 * member, which must recognize it as already processed.
 *
 *   CRASH_CONFIG='{"brokers":[…],"topicPrefix":…,"groupId":…,"deadLetterTopic":…,"mysqlUrl":…,"blockRide":…}' \
 *     node -r ./examples/ride-hailing/register.js examples/ride-hailing/test/crash-consumer.ts
 */
import type { RowDataPacket } from 'mysql2/promise';
import { createEventConsumer, silentLogger } from 'wavegate/consumer';
import { createMysqlPool } from 'wavegate/outbox';

interface CrashConfig {
  brokers: string[];
  topicPrefix: string;
  groupId: string;
  deadLetterTopic: string;
  mysqlUrl: string;
  blockRide: string;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.env['CRASH_CONFIG'] ?? '{}') as CrashConfig;
  const db = createMysqlPool({ url: c.mysqlUrl, connectionLimit: 2 });
  const consumer = createEventConsumer({
    service: 'crash-test', groupId: c.groupId, deadLetterTopic: c.deadLetterTopic, topicPrefix: c.topicPrefix,
    brokers: c.brokers, db, log: silentLogger,
    retry: { retries: 5, initialMs: 50, maxMs: 500 }, maxAttempts: 3,
    sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000, maxWaitTimeMs: 100,
    partitionsConsumedConcurrently: 1, commitIntervalMs: 3_600_000, commitThreshold: 1_000_000,
    onOutcome: (o) => {
      if (o.kind === 'handled') process.stdout.write(`HANDLED ${o.event.aggregateId}\n`);
    },
  });
  consumer.onEvent('RideRequested', async ({ event, tx, emit }) => {
    await tx.execute('INSERT INTO ledger (ride_id, event_id, note) VALUES (?, ?, ?)', [event.aggregateId, event.id, 'crash-child']);
    await emit({ type: 'DriverAssigned', payload: { driver_id: 'driver-1', eta_seconds: 60 } });
    if (event.aggregateId === c.blockRide) {
      const [rows] = await tx.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      process.stdout.write(`INFLIGHT ${String(rows[0]!['id'])}\n`);
      await new Promise<never>(() => undefined); // the kill comes here
    }
  });
  await consumer.start();
  process.stdout.write('STARTED\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
