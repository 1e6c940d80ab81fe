/**
 * splitBaseCte (src/views/split.ts): the embedded engine's split of a view's SQL into the `base`
 * CTE (a pg_ivm IMMV) and the projection over it, read with libpg-query's parser and scanner.
 */
import { bundledRegistry } from '../../src/views/load';
import { loadViewParser, splitBaseCte } from '../../src/views/split';

beforeAll(loadViewParser);

describe('splitBaseCte', () => {
  it('splits every view of schema/ into a SELECT over outbox and a projection over base, losing nothing', () => {
    for (const v of bundledRegistry().views) {
      const text = v.sql;
      const split = splitBaseCte(text);
      expect(split).toBeDefined();
      expect(split!.base).toMatch(/^SELECT\b/i);
      expect(split!.base).toMatch(/\bFROM\s+outbox\b/i);
      expect(split!.projection).toMatch(/^SELECT\b[\s\S]*\bFROM\s+base\b/i);
      const squash = (s: string) => s.replace(/\s+/g, '');
      expect(squash(`WITH base AS (${split!.base}) ${split!.projection}`)).toBe(squash(text));
    }
  });

  it('reads parentheses as Postgres does: not inside strings, quoted names, dollar quotes or comments', () => {
    const body = `SELECT 'é)' AS a, "odd)name" AS b, $q$)$q$ AS c, (1 + (2)) AS d -- a comment )
      /* and ) another */ FROM outbox`;
    expect(splitBaseCte(`WITH base AS (${body}) SELECT a, b FROM base WHERE a <> ')'`)).toEqual({
      base: body,
      projection: "SELECT a, b FROM base WHERE a <> ')'",
    });
    expect(splitBaseCte(`with  BASE as\n(SELECT 1 AS x)\nselect x from base`)).toEqual({ base: 'SELECT 1 AS x', projection: 'select x from base' });
  });

  it('is undefined for a statement without a leading base CTE', () => {
    expect(splitBaseCte('SELECT aggregate_id FROM outbox')).toBeUndefined();
    expect(splitBaseCte('WITH other AS (SELECT 1 AS x) SELECT x FROM other')).toBeUndefined();
    expect(splitBaseCte(`SELECT 'WITH base AS (' AS x`)).toBeUndefined();
  });

  it('refuses what it cannot split into one IMMV and a view, and SQL that does not parse', () => {
    expect(() => splitBaseCte('WITH base AS (SELECT 1 AS x), more AS (SELECT 2 AS y) SELECT x FROM base')).toThrow('must be the only CTE');
    expect(() => splitBaseCte('WITH RECURSIVE base AS (SELECT 1 AS x) SELECT x FROM base')).toThrow('not RECURSIVE');
    expect(() => splitBaseCte('WITH base AS (SELECT 1 AS x SELECT x FROM base')).toThrow('view SQL does not parse');
    expect(() => splitBaseCte('SELECT 1; SELECT 2')).toThrow('exactly one SELECT');
    expect(() => splitBaseCte('DELETE FROM outbox')).toThrow('exactly one SELECT');
  });
});
