import { checkSql, loadSqlParser } from '../../src/passthrough/guard/guard';
import { bundledRegistry } from '../../src/views/load';
import { formatWidths, MAX_WIDTH, staticArraySize } from '../../src/passthrough/guard/boundedOutput';
import { SqlRefusal } from '../../src/passthrough/sqlstate';
import { parseSqlUsers, type SqlUser } from '../../src/passthrough/users';
import { parseSync } from 'libpg-query';

// Issue 11 item 3: bounds on what string and set functions may produce (guard/boundedOutput.ts).

const [OPS] = parseSqlUsers('olga:unused:ops', bundledRegistry()) as [SqlUser];

beforeAll(async () => loadSqlParser());

const allowed = (sql: string): boolean => checkSql(sql, { user: OPS, maxRows: 100, views: bundledRegistry() }).every((s) => s.kind === 'select');
function refusal(sql: string): { code: string; message: string } {
  try {
    checkSql(sql, { user: OPS, maxRows: 100, views: bundledRegistry() });
  } catch (err) {
    if (err instanceof SqlRefusal) return { code: err.sqlState, message: err.message };
    throw err;
  }
  throw new Error(`not refused: ${sql}`);
}
/** The first target expression of `SELECT <expr>`, as the parser gives it. */
const expr = (sql: string): unknown => {
  const tree = parseSync(`SELECT ${sql}`) as { stmts: Array<{ stmt: { SelectStmt: { targetList: Array<{ ResTarget: { val: unknown } }> } } }> };
  return tree.stmts[0]!.stmt.SelectStmt.targetList[0]!.ResTarget.val;
};

describe('passthrough guard: bounded function output', () => {
  it('refuses the issue\'s string builders and keeps everyday padding and formatting', () => {
    expect(refusal("SELECT format('%200000000s', '')")).toEqual({ code: '54000', message: `format field widths may be at most ${MAX_WIDTH} through the SQL passthrough` });
    expect(refusal("SELECT lpad('', 200000000)").code).toBe('54000');
    expect(refusal("SELECT rpad(trip_id, 10001, 'x') FROM trip_history").code).toBe('54000');
    expect(allowed("SELECT lpad(driver_id, 12, '0'), rpad(status, 10), format('%s-%s|%-10s|%3$10s', trip_id, status, driver_id) FROM trip_history")).toBe(true);
    expect(allowed(`SELECT lpad('x', ${MAX_WIDTH}), format('%${MAX_WIDTH}s', 'y')`)).toBe(true);
  });

  it('refuses widths it cannot see: a length from data, a width from an argument, a format string from data', () => {
    expect(refusal('SELECT lpad(trip_id, event_count) FROM trip_history')).toMatchObject({ code: '42501', message: expect.stringContaining('lpad needs a constant length') });
    expect(refusal("SELECT format('%*s', 200000000, '')")).toMatchObject({ code: '42501', message: expect.stringContaining('%*s') });
    expect(refusal("SELECT format('%1$*2$s', 'a', 200000000)").code).toBe('42501');
    expect(refusal('SELECT format(status, trip_id) FROM trip_history')).toMatchObject({ code: '42501', message: expect.stringContaining('constant format string') });
    expect(refusal("SELECT format(VARIADIC ARRAY['%200000000s'])").code).toBe('42501');
  });

  it('bounds set-returning functions over arrays the statement fixes, like generate_series', () => {
    const big = "string_to_array(format('%5000s', ''), NULL)";
    expect(refusal(`SELECT count(*) FROM generate_subscripts(${big}, 1) a, generate_subscripts(${big}, 1) b`))
      .toMatchObject({ code: '54000', message: expect.stringContaining('generate_subscripts may produce at most 1000 rows') });
    expect(refusal(`SELECT count(*) FROM unnest(regexp_split_to_array(lpad('', 3000), ''))`).code).toBe('54000');
    expect(refusal(`SELECT unnest('{${Array.from({ length: 1001 }, (_, i) => i).join(',')}}'::int[])`).code).toBe('54000');
    expect(allowed("SELECT generate_subscripts(string_to_array('a,b,c', ','), 1), unnest(ARRAY[1, 2, 3])")).toBe(true);
    // Sized by the data: the guard cannot know; the engine's deadline and memory limits hold there.
    expect(allowed('SELECT count(*) FROM trip_history t, generate_subscripts(string_to_array(t.trip_id, NULL), 1) s')).toBe(true);
  });

  it('reads format widths as PostgreSQL does (position, flag, width, type)', () => {
    expect(formatWidths('%s %10s %-7L %3$12I %% %*s %1$*2$s 100%%')).toEqual([10, 7, 12, '*', '*']);
    expect(formatWidths('%200000000s')).toEqual([200000000]);
  });

  it('sizes arrays built from constants and leaves others unknown', () => {
    // Upper bounds: the format string's own characters count too (6 + 5000 + 1).
    expect(staticArraySize(expr("string_to_array(format('%5000s', ''), NULL)"))).toBe(5007);
    expect(staticArraySize(expr("string_to_array('ab' || lpad('', 40), ',')"))).toBe(43);
    expect(staticArraySize(expr('ARRAY[1, 2, 3]'))).toBe(3);
    expect(staticArraySize(expr("string_to_array(trip_id, ',')"))).toBeUndefined();
    expect(staticArraySize(expr("string_to_array(format('%s', trip_id), ',')"))).toBeUndefined();
  });
});
