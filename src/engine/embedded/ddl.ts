import type { ColumnModel, OrderingModel, ViewModel } from '../../views/model';
import { splitBaseCte } from '../../views/split';

/**
 * DDL the embedded engine generates for one view:
 * - `<view>__base`: a pg_ivm IMMV over the `base` CTE (aggregates over outbox, maintained in the
 *   writing transaction);
 * - `<view>`: a plain view = the projection over `<view>__base` (pg_ivm rejects expressions over
 *   aggregates, so `status`, averages and the like live here; a plain view costs nothing to maintain);
 * - a row trigger on the IMMV that appends the projected row to `wavegate.changes` and notifies.
 */
export interface EmbeddedViewDdl {
  readonly baseName: string;
  readonly createBase: string;
  readonly createView: string;
  /**
   * Secondary indexes on the IMMV for the GraphQL query patterns (pg_ivm only indexes the group
   * key), given the IMMV's visible columns: an index on a column only the projection has is skipped.
   */
  createIndexes(baseColumns: readonly string[]): string[];
  /** Trigger function + trigger; needs the IMMV's visible columns (known only after creation). */
  trigger(baseColumns: readonly string[]): string;
}

const ident = (s: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`unsafe identifier: ${s}`);
  return s;
};

/** `jsonb_build_object(...)` of `cols` read from `src`, numerics as text so no digit is lost. */
function jsonOf(view: { readonly columns: readonly ColumnModel[] }, src: string, cols: readonly string[]): string {
  const parts = cols.map((c) => {
    const type = view.columns.find((x) => x.name === c)?.type;
    const expr = `${src}.${ident(c)}`;
    return `'${c}', ${type === 'numeric' ? `${expr}::text` : expr}`;
  });
  return `jsonb_build_object(${parts.join(', ')})`;
}

/** A view's SQL split the way the embedded engine maintains it (see {@link splitBaseCte}). */
export interface ViewSqlParts {
  /** The `base` CTE body (what pg_ivm maintains); the whole statement when there is no such CTE. */
  readonly base: string;
  /** The projection over `base` (`SELECT ... FROM base`); undefined when there is no CTE. */
  readonly projection: string | undefined;
}

/** `base` and projection of a view's SQL (the whole statement is the base without a `base` CTE). */
export function viewSqlParts(sql: string): ViewSqlParts {
  const split = splitBaseCte(sql);
  return { base: split?.base ?? sql, projection: split?.projection };
}

const orderSql = (o: OrderingModel): string => o.columns
  .map((c) => `${ident(c.column)}${c.desc ? ' DESC' : ''}${c.nullsLast === c.desc ? (c.nullsLast ? ' NULLS LAST' : ' NULLS FIRST') : ''}`)
  .join(', ');

/**
 * Secondary indexes on the IMMV for the declared GraphQL read patterns: the connection's keyset
 * ordering alone (all rows, newest first for trips) and after the leading column of each declared
 * index it filters on by equality (one rider's trips); the same for a list. pg_ivm already indexes
 * the GROUP BY columns (the key), so an index that is just the key in order is left out. The
 * RisingWave DDL creates the declared `indexes` themselves (src/engine/risingwave/ddl.ts). Columns
 * the IMMV lacks (computed in the projection) cannot be indexed: such indexes are skipped.
 */
export function embeddedIndexColumns(view: ViewModel): Array<{ readonly sql: string; readonly columns: readonly string[] }> {
  const out: Array<{ sql: string; columns: string[] }> = [];
  const add = (sql: string, columns: string[]): void => {
    if (sql !== view.key.join(', ') && !out.some((o) => o.sql === sql)) out.push({ sql, columns });
  };
  for (const read of [view.graphql?.connection, view.graphql?.list]) {
    if (read === undefined) continue;
    add(orderSql(read.ordering), read.ordering.columns.map((c) => c.column));
    for (const index of view.indexes) {
      const lead = index.columns[0]?.column;
      if (lead === undefined || !read.filters.some((f) => f.op === 'eq' && f.column === lead)) continue;
      const rest = read.ordering.columns.filter((c) => c.column !== lead);
      add([ident(lead), ...(rest.length > 0 ? [orderSql({ name: '', columns: rest })] : [])].join(', '), [lead, ...rest.map((c) => c.column)]);
    }
  }
  return out;
}

/** `text` as a dollar-quoted literal whose tag `text` does not contain. */
function dollarQuote(text: string): string {
  let tag = 'wg';
  for (let i = 0; text.includes(`$${tag}$`); i++) tag = `wg${i}`;
  return `$${tag}$${text}$${tag}$`;
}

/** Builds the DDL for `view` from its schema SQL. Needs the view parser loaded (src/views/split.ts loadViewParser). */
export function embeddedViewDdl(view: ViewModel, sql: ViewSqlParts = viewSqlParts(view.sql)): EmbeddedViewDdl {
  const name = ident(view.name);
  const baseName = `${name}__base`;
  const projection = sql.projection === undefined
    ? `SELECT ${view.columns.map((c) => ident(c.name)).join(', ')} FROM ${baseName}`
    // The projection's FROM names the CTE `base`; point it at the IMMV instead.
    : sql.projection.replace(/\bFROM\s+base\b/i, `FROM public.${baseName}`);
  const keyMatch = view.key.map((k) => `v.${ident(k)} = NEW.${ident(k)}`).join(' AND ');
  const wantedOld = [...new Set([...view.key, ...view.indexed])];
  return {
    baseName,
    createBase: `SELECT pgivm.create_immv('${baseName}', ${dollarQuote(sql.base)})`,
    createView: `CREATE VIEW public.${name} AS ${projection}`,
    createIndexes: (baseColumns) => embeddedIndexColumns(view)
      .map((index, i) => ({ ...index, i }))
      .filter((index) => index.columns.every((c) => baseColumns.includes(c)))
      .map((index) => `CREATE INDEX ${baseName}_q${index.i} ON public.${baseName} (${index.sql})`),
    trigger: (baseColumns) => {
      const changed = baseColumns.map((c) => `NEW.${ident(c)} IS DISTINCT FROM OLD.${ident(c)}`).join(' OR ');
      // The old image is the IMMV's row: an indexed column computed in the projection is not in it.
      const oldCols = wantedOld.filter((c) => baseColumns.includes(c));
      // pg_ivm maintains IMMVs with a restricted search_path: every name here is schema-qualified.
      return `
CREATE OR REPLACE FUNCTION wavegate.log_${name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE r jsonb;
BEGIN
  IF TG_OP = 'UPDATE' AND NOT (${changed || 'false'}) THEN
    RETURN NULL; -- only pg_ivm's hidden counters moved: no visible change
  END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO wavegate.changes (view_name, op, key, row, old)
    VALUES ('${name}', 'delete', ${jsonOf(view, 'OLD', view.key)}, NULL, ${jsonOf(view, 'OLD', oldCols)});
  ELSE
    SELECT ${jsonOf(view, 'v', view.columns.map((c) => c.name))} INTO r FROM public.${name} v WHERE ${keyMatch};
    INSERT INTO wavegate.changes (view_name, op, key, row, old)
    VALUES ('${name}', lower(TG_OP), ${jsonOf(view, 'NEW', view.key)}, r,
            CASE WHEN TG_OP = 'UPDATE' THEN ${jsonOf(view, 'OLD', oldCols)} END);
  END IF;
  PERFORM pg_notify('wavegate_changes', '');
  RETURN NULL;
END $fn$;
DROP TRIGGER IF EXISTS wavegate_log ON public.${baseName};
CREATE TRIGGER wavegate_log AFTER INSERT OR UPDATE OR DELETE ON public.${baseName}
  FOR EACH ROW EXECUTE FUNCTION wavegate.log_${name}();`;
    },
  };
}

/** The change log and metadata the embedded engine keeps in schema `wavegate`. */
export const WAVEGATE_SCHEMA = `
CREATE SCHEMA IF NOT EXISTS wavegate;
CREATE TABLE IF NOT EXISTS wavegate.meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS wavegate.changes (
  seq          bigserial PRIMARY KEY,
  view_name    text NOT NULL,
  op           text NOT NULL,
  key          jsonb NOT NULL,
  row          jsonb,
  old          jsonb,
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS changes_view_seq ON wavegate.changes (view_name, seq);
`;
