import { bundledRegistry } from '../../src/views/load';
import type { Engine } from '../../src/engine/types';
import { silentLogger } from '../../src/log';
import { ResultDescriber } from '../../src/passthrough/describe/describer';
import { StatementCancel, StatementExecutor } from '../../src/passthrough/executor';
import { checkSql, loadSqlParser } from '../../src/passthrough/guard/guard';
import type { SelectStatement } from '../../src/passthrough/guard/statements';
import { makeVerifier } from '../../src/passthrough/scram';
import { SqlRefusal } from '../../src/passthrough/sqlstate';
import type { SqlUser } from '../../src/passthrough/users';
import { sqlUser } from '../helpers/sqlUsers';

// The executor per engine flavour, over a fake engine that records what it is sent: WITH RECURSIVE
// runs only on PostgreSQL (the embedded engine cannot interrupt it; RisingWave does not support it:
// src/frontend/src/binder/query.rs at v3.0.3, "RECURSIVE CTE is not supported"), and RisingWave gets
// the statement rewritten with its own catalog rules.

const OPS: SqlUser = sqlUser('olga', 'ops');

beforeAll(async () => loadSqlParser());

/** A fake engine: `version` answers version(), anything else returns `rows`; every SQL text is kept. */
function fakeEngine(kind: 'embedded' | 'risingwave', version: string, rows: Array<Record<string, unknown>> = []): { engine: Engine; sent: string[] } {
  const sent: string[] = [];
  const engine = {
    kind,
    query: async (sql: string) => {
      sent.push(sql);
      if (/version\(\)/.test(sql)) return [{ v: version }];
      if (/^EXPLAIN/.test(sql)) return [{ 'QUERY PLAN': [{ Plan: { 'Total Cost': 1 } }] }];
      return rows;
    },
  } as unknown as Engine;
  return { engine, sent };
}

function executor(engine: Engine): StatementExecutor {
  return new StatementExecutor({ engine, describer: new ResultDescriber(engine, silentLogger), log: silentLogger, maxRows: 100, maxPlanCost: 1_000_000 });
}

const statement = (sql: string): SelectStatement => checkSql(sql, { user: OPS, maxRows: 100, views: bundledRegistry() })[0] as SelectStatement;
const RECURSIVE = 'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT count(*)::int AS n FROM t';

async function refusal(p: Promise<unknown>): Promise<SqlRefusal> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof SqlRefusal)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err;
}

describe('WITH RECURSIVE per engine', () => {
  it.each([
    ['risingwave', 'PostgreSQL 13.14.0-RisingWave-3.0.3 (ec07f2eb759b)', /not supported by the RisingWave engine/],
    ['embedded', 'PostgreSQL 18.1 (PGlite)', /not supported by the embedded engine/],
  ] as const)('is refused on the %s engine (0A000) before anything runs, in Describe and Execute', async (kind, version, message) => {
    const { engine, sent } = fakeEngine(kind, version);
    const x = executor(engine);
    const run = await refusal(x.execute(statement(RECURSIVE), [], new StatementCancel()));
    expect([run.sqlState, run.message]).toEqual(['0A000', expect.stringMatching(message)]);
    expect(run.extra.hint).not.toMatch(/use the RisingWave engine/);
    expect((await refusal(x.describe(statement(RECURSIVE), 0))).sqlState).toBe('0A000');
    expect(sent.filter((s) => /RECURSIVE/.test(s))).toEqual([]);
  });

  it('runs on PostgreSQL (standing in for RisingWave), where the statement timeout can stop it', async () => {
    const { engine, sent } = fakeEngine('risingwave', 'PostgreSQL 15.20 (Debian 15.20-0+deb12u1)', [{ n: 3 }]);
    const result = await executor(engine).execute(statement(RECURSIVE), [], new StatementCancel());
    expect(result.rows).toEqual([['3']]);
    expect(sent.some((s) => s.includes('WITH RECURSIVE t(n)'))).toBe(true);
  });
});

describe('catalog rules per engine', () => {
  it('sends RisingWave the statement with RisingWave\'s rules, and PostgreSQL with PostgreSQL\'s', async () => {
    const sql = 'SELECT table_name, view_definition FROM information_schema.views';
    const rw = fakeEngine('risingwave', 'PostgreSQL 13.14.0-RisingWave-3.0.3 (ec07f2eb759b)');
    await executor(rw.engine).execute(statement(sql), [], new StatementCancel());
    expect(rw.sent.some((s) => s.includes('NULL::varchar AS view_definition'))).toBe(true);
    const pg = fakeEngine('risingwave', 'PostgreSQL 15.20');
    await executor(pg.engine).execute(statement(sql), [], new StatementCancel());
    expect(pg.sent.some((s) => s.includes('NULL::information_schema.character_data AS view_definition'))).toBe(true);
  });

  it('refuses a relation RisingWave does not have with 42P01, without sending it', async () => {
    const { engine, sent } = fakeEngine('risingwave', 'PostgreSQL 13.14.0-RisingWave-3.0.3 (ec07f2eb759b)');
    const err = await refusal(executor(engine).execute(statement('SELECT * FROM pg_catalog.pg_aggregate'), [], new StatementCancel()));
    expect([err.sqlState, err.message]).toEqual(['42P01', 'relation "pg_catalog.pg_aggregate" does not exist']);
    expect(sent.filter((s) => s.includes('pg_aggregate'))).toEqual([]);
  });
});
