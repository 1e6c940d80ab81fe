import { join } from 'node:path';
import { runMigrate } from '../../src/cli/migrate';
import { generateDdl } from '../../src/engine/risingwave/ddl';
import { planMigrations, renderPlan, type AppliedObject } from '../../src/engine/risingwave/plan';
import { loadRisingWaveSettings } from '../../src/engine/risingwave/settings';
import { bundledRegistry } from '../../src/views/load';
import { expectGolden } from '../golden/golden';

const golden = (name: string) => join(__dirname, '..', 'golden', 'risingwave', name);

/** Fixed settings, so the golden files do not depend on the machine's environment. */
const ENV = {
  mysql: { WAVEGATE_CDC_DIALECT: 'mysql', WAVEGATE_CDC_HOST: 'mysql', WAVEGATE_CDC_DATABASE: 'rides', WAVEGATE_SINK_BROKERS: 'kafka:9092' },
  mariadb: { WAVEGATE_CDC_DIALECT: 'mariadb', WAVEGATE_CDC_HOST: 'mariadb', WAVEGATE_CDC_DATABASE: 'rides', WAVEGATE_SINK_BROKERS: 'kafka:9092' },
  postgres: { WAVEGATE_CDC_DIALECT: 'postgres', WAVEGATE_CDC_HOST: 'postgres', WAVEGATE_CDC_DATABASE: 'rides', WAVEGATE_SINK_BROKERS: 'kafka:9092' },
};

async function offlinePlan(env: Record<string, string>): Promise<string> {
  let out = '';
  let err = '';
  const code = await runMigrate(['plan'], { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env });
  expect({ code, err }).toEqual({ code: 0, err: '' });
  return out;
}

describe('RisingWave DDL golden files (UPDATE_GOLDEN=1 regenerates; never in CI)', () => {
  it.each(['mysql', 'mariadb', 'postgres'] as const)('`migrate plan` from scratch, %s upstream', async (dialect) => {
    expectGolden(golden(`plan-${dialect}.sql`), await offlinePlan(ENV[dialect]));
  });

  it.each(['mysql', 'mariadb'] as const)('`migrate plan` from scratch, one outbox database per service (%s)', async (dialect) => {
    // Only the base migration differs from plan-<dialect>.sql (ddl-plan.test.ts checks the rest is identical).
    const plan = await offlinePlan({ ...ENV[dialect], WAVEGATE_CDC_DATABASE: 'ride,driver,payment,notification' });
    const views = plan.indexOf('-- ==== migration 2');
    expect(views).toBeGreaterThan(0);
    expectGolden(golden(`plan-${dialect}-services-base.sql`), plan.slice(0, views));
  });

  it('a changed view: DROP SINK, DROP INDEX, DROP MATERIALIZED VIEW, then CREATE them again', () => {
    const settings = loadRisingWaveSettings(ENV.mysql);
    const before = generateDdl(settings);
    const applied = new Map<string, AppliedObject>(before.map((o) => [o.name, o]));
    const after = generateDdl({ ...settings, views: bundledRegistry().views.map((v) => (v.name === 'trip_history'
      ? { ...v, sql: v.sql.replace("ELSE 'REQUESTED'", "ELSE 'PENDING'") } : v)) });
    const plan = planMigrations(after, applied, 7);
    expect(plan.drift).toEqual([]);
    expect(plan.migrations.map((m) => m.name)).toEqual(['view:trip_history']);
    expectGolden(golden('plan-recreate-trip_history.sql'), renderPlan(plan.migrations, ['trip_history changed (fixture)']));
  });
});
