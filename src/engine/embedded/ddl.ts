import { splitBaseCte, type ViewDef, type ViewSql } from '../../views/registry';

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
  /** Secondary indexes on the IMMV for the GraphQL query patterns (pg_ivm only indexes the group key). */
  readonly createIndexes: readonly string[];
  /** Trigger function + trigger; needs the IMMV's visible columns (known only after creation). */
  trigger(baseColumns: readonly string[]): string;
}

const ident = (s: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`unsafe identifier: ${s}`);
  return s;
};

/** `jsonb_build_object(...)` of `cols` read from `src`, numerics as text so no digit is lost. */
function jsonOf(view: ViewDef, src: string, cols: readonly string[]): string {
  const parts = cols.map((c) => {
    const type = view.columns.find((x) => x.name === c)?.type;
    const expr = `${src}.${ident(c)}`;
    return `'${c}', ${type === 'numeric' ? `${expr}::text` : expr}`;
  });
  return `jsonb_build_object(${parts.join(', ')})`;
}

/**
 * Index columns per view, in the order of the `trips` query (src/graphql/sql.ts): newest first with
 * trip_id as tie-break, alone (ops) or after the rider/driver filter. The RisingWave path creates
 * its own indexes for the same patterns (src/engine/risingwave/ddl.ts VIEW_INDEXES).
 */
const INDEXES: Partial<Record<ViewDef['name'], readonly string[]>> = {
  trip_history: [
    'requested_at DESC NULLS LAST, trip_id DESC',
    'rider_id, requested_at DESC NULLS LAST, trip_id DESC',
    'driver_id, requested_at DESC NULLS LAST, trip_id DESC',
  ],
};

/** Builds the DDL for `view` from its schema SQL. Needs the view parser loaded (views/registry.ts loadViewParser). */
export function embeddedViewDdl(view: ViewDef, sql: ViewSql): EmbeddedViewDdl {
  const name = ident(view.name);
  const baseName = `${name}__base`;
  // `WITH base AS (<aggregate>) <projection>`; a statement without that CTE is all base.
  const split = splitBaseCte(sql.text);
  const base = split?.base ?? sql.text;
  const projection = split === undefined
    ? `SELECT ${view.columns.map((c) => ident(c.name)).join(', ')} FROM ${baseName}`
    // The projection's FROM names the CTE `base`; point it at the IMMV instead.
    : split.projection.replace(/\bFROM\s+base\b/i, `FROM public.${baseName}`);
  const keyMatch = view.key.map((k) => `v.${ident(k)} = NEW.${ident(k)}`).join(' AND ');
  const oldCols = [...new Set([...view.key, ...view.indexed])];
  return {
    baseName,
    createBase: `SELECT pgivm.create_immv('${baseName}', $wg$${base}$wg$)`,
    createView: `CREATE VIEW public.${name} AS ${projection}`,
    createIndexes: (INDEXES[view.name] ?? []).map((cols, i) => `CREATE INDEX ${baseName}_q${i} ON public.${baseName} (${cols})`),
    trigger: (baseColumns) => {
      const changed = baseColumns.map((c) => `NEW.${ident(c)} IS DISTINCT FROM OLD.${ident(c)}`).join(' OR ');
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
