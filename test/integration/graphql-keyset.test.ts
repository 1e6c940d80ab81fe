/**
 * Keyset pagination (src/graphql/build/keyset.ts) against PostgreSQL semantics on PGlite: for
 * seeded random tables with NULLs and ties, and random orderings (each column ascending or
 * descending, NULLS FIRST or LAST, ending with the key), walking every page with the cursor of its
 * last row returns exactly the rows of one ORDER BY over the whole table: none skipped, none
 * repeated, at every page size.
 */
import { PGlite } from '@electric-sql/pglite';
import { cursorSelectSql, decodePageCursor, encodePageCursor, keysetSql, orderBySql, type CursorValue, type KeysetColumn } from '../../src/graphql/build/keyset';
import { limitSql } from '../../src/graphql/build/statements';
import { normalizeColumnValue } from '../../src/graphql/build/rows';
import { prng as rng } from '../helpers/prng';


const COLUMNS: ReadonlyArray<Omit<KeysetColumn, 'desc' | 'nullsLast'>> = [
  { column: 'n', type: 'int', nullable: true, textAlias: undefined },
  { column: 'ts', type: 'timestamptz', nullable: true, textAlias: 'wg_k_ts' },
  { column: 'd', type: 'date', nullable: true, textAlias: undefined },
  { column: 'amount', type: 'numeric', nullable: true, textAlias: undefined },
  { column: 'label', type: 'text', nullable: true, textAlias: undefined },
];
const KEY: Omit<KeysetColumn, 'desc' | 'nullsLast'> = { column: 'id', type: 'text', nullable: false, textAlias: undefined };

let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  await db.exec('CREATE TABLE t (id text PRIMARY KEY, n bigint, ts timestamptz, d date, amount numeric, label text)');
  const r = rng(12);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const rows: string[] = [];
  for (let i = 0; i < 60; i++) {
    // Few distinct values, so ties and NULLs are common; timestamps share a millisecond, not a microsecond.
    const n = pick(['NULL', '1', '2', '3']);
    const ts = pick(['NULL', `'2026-10-01 10:00:00.123456+00'`, `'2026-10-01 10:00:00.123457+00'`, `'2026-10-02 00:00:00+00'`]);
    const d = pick(['NULL', `'2026-10-01'`, `'2026-10-02'`]);
    const amount = pick(['NULL', '1.50', '1.5', '10']);
    const label = pick(['NULL', `'a'`, `'b'`, `'B'`]);
    rows.push(`('k${String(i).padStart(2, '0')}', ${n}, ${ts}, ${d}, ${amount}, ${label})`);
  }
  await db.exec(`INSERT INTO t VALUES ${rows.join(', ')}`);
});
afterAll(async () => db?.close());

async function ids(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  return (await db.query<Record<string, unknown>>(sql, params)).rows;
}

function cursorOf(order: readonly KeysetColumn[], row: Record<string, unknown>): string {
  const values: CursorValue[] = order.map((c) => {
    // As the Edge of resolvers.ts: a timestamp's exact text, every other value normalised.
    if (c.textAlias !== undefined) return (row[c.textAlias] ?? null) as CursorValue;
    const v = row[c.column];
    return v === null || v === undefined ? null : (normalizeColumnValue(c.type, v) as CursorValue);
  });
  return encodePageCursor(order, values);
}

async function walk(order: readonly KeysetColumn[], size: number): Promise<string[]> {
  const select = ['id', ...order.filter((c) => c.column !== 'id').map((c) => c.column), ...cursorSelectSql(order)].join(', ');
  const out: string[] = [];
  let after: CursorValue[] | undefined;
  for (let i = 0; i < 100; i++) {
    const params: unknown[] = [];
    const add = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where = after === undefined ? '' : ` WHERE ${keysetSql(order, after, add)}`;
    const rows = await ids(`SELECT ${select} FROM t${where} ${orderBySql(order)} ${limitSql(size + 1)}`, params);
    const page = rows.slice(0, size);
    out.push(...page.map((r) => String(r['id'])));
    if (rows.length <= size) return out;
    // Through the wire format, as a client would hand it back.
    after = decodePageCursor(order, cursorOf(order, page.at(-1)!));
  }
  throw new Error('pagination did not end');
}

describe('keyset pages over random orderings', () => {
  const r = rng(7);
  const orderings = Array.from({ length: 24 }, (_, i) => {
    const cols = [...COLUMNS].sort(() => r() - 0.5).slice(0, 1 + Math.floor(r() * 3));
    const order: KeysetColumn[] = [...cols, KEY].map((c) => ({ ...c, desc: r() < 0.5, nullsLast: r() < 0.5 }));
    return [i, order] as const;
  });

  it.each(orderings)('ordering #%i walks every row once, in order, at page sizes 1, 2, 7 and 60', async (_i, order) => {
    const expected = (await ids(`SELECT id FROM t ${orderBySql(order)}`)).map((row) => String(row['id']));
    expect(expected).toHaveLength(60);
    for (const size of [1, 2, 7, 60]) expect(await walk(order, size)).toEqual(expected);
  });
});
