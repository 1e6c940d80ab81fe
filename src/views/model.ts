/**
 * The view registry's model: what the declarations under the schema directory (`schema/wavegate.yaml`
 * and `schema/<view>.yaml` next to `schema/<view>.sql`) say once loaded and checked. Everything that
 * serves a view — migrations, engines, the GraphQL API, subscriptions, the SQL passthrough, tokens —
 * reads this model; nothing else names a view, a column or a role. docs/VIEWS.md describes the
 * declaration format.
 */

/**
 * Column types as Wavegate normalises them, whatever the engine:
 * - `text`: string
 * - `int`: JS number (counts; bigint in SQL, always within 2^53 here)
 * - `float`: JS number (double precision)
 * - `numeric`: decimal string, exactly as the engine printed it (`"12.50"`)
 * - `timestamptz`: ISO-8601 UTC string with milliseconds (`"2026-10-05T14:03:07.123Z"`)
 * - `date`: `"YYYY-MM-DD"`
 * - `bool`: JS boolean
 */
export type ColumnType = 'text' | 'int' | 'float' | 'numeric' | 'timestamptz' | 'date' | 'bool';

/** A view row in normalised form: column name → value (null for SQL NULL). */
export type Row = Readonly<Record<string, string | number | boolean | null>>;

/** A claim value of a viewer: a string (`sub`, `fleet_id`) or a list of strings (`fleet_ids`). */
export type ClaimValue = string | readonly string[];

/**
 * Which rows of a view a role may read. Exhaustive: every target of the permission compiler
 * (`src/permissions/compile.ts`) switches over `kind` with a `never` default.
 * - `eq`: `column = <claim>` (a scalar claim)
 * - `in`: `column IN <claim>` (a list claim; an empty list matches nothing)
 * - `lookup`: `column IN (SELECT select FROM view WHERE where)`: membership through another
 *   view, e.g. a fleet manager's drivers (`driver_id IN (SELECT driver_id FROM fleet_drivers
 *   WHERE fleet_id = <claim fleet_id>)`). `where` may not contain another lookup.
 */
export type Predicate =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'eq'; readonly column: string; readonly claim: string }
  | { readonly kind: 'in'; readonly column: string; readonly claim: string }
  | { readonly kind: 'lookup'; readonly column: string; readonly view: string; readonly select: string; readonly where: Predicate }
  | { readonly kind: 'and'; readonly of: readonly Predicate[] }
  | { readonly kind: 'or'; readonly of: readonly Predicate[] };

/**
 * How a readable column is shown to a role: `null` replaces the value with NULL (the column stays,
 * with its type); `round` rounds a float/numeric to `digits` decimals (coordinates to ~1 km).
 */
export type Mask = { readonly kind: 'null' } | { readonly kind: 'round'; readonly digits: number };

/** What one role may read of one view. A role absent from a view's permissions reads nothing. */
export interface Permission {
  readonly rows: Predicate;
  /** Readable columns (all when the declaration lists none). Others are refused, never nulled. */
  readonly columns: readonly string[];
  /** Masked columns (a subset of `columns`). */
  readonly masks: Readonly<Record<string, Mask>>;
}

/** A declared claim of a role's tokens (besides `sub`, which every role has). */
export interface ClaimDecl {
  readonly name: string;
  /** `string` or `string[]` (JWT array claim). */
  readonly type: 'string' | 'string[]';
}

/** A role, declared once in `wavegate.yaml`. */
export interface RoleDecl {
  readonly name: string;
  readonly description: string;
  /** Extra JWT claims this role's tokens carry (required in a token of this role). */
  readonly claims: readonly ClaimDecl[];
  /** False for roles that only exist on the SQL port (e.g. `analyst`): tokens are refused. */
  readonly graphql: boolean;
  /** Sample claims for the demo tokens printed at start-up (`sub` and each declared claim). */
  readonly sample?: Readonly<Record<string, ClaimValue>>;
}

/** A column of a view, with its GraphQL field. */
export interface ColumnModel {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly description?: string;
  /** GraphQL field name (camelCase of `name` unless overridden); undefined = not exposed. */
  readonly field?: string;
  /** GraphQL type override for the field, e.g. `ID` for ids, or a declared enum name. */
  readonly graphqlType?: string;
}

/** A named index (RisingWave `CREATE INDEX`; the embedded engine creates it too). */
export interface IndexModel {
  readonly name: string;
  readonly columns: ReadonlyArray<{ readonly column: string; readonly desc: boolean }>;
  /** RisingWave `DISTRIBUTED BY` column (the leading column unless given). */
  readonly distributedBy: string;
}

/** One keyset ordering of a connection: columns in order, ending with the key. */
export interface OrderingModel {
  readonly name: string;
  readonly columns: ReadonlyArray<{ readonly column: string; readonly desc: boolean; readonly nullsLast: boolean }>;
}

/** A filter argument of a connection or list field. */
export interface FilterModel {
  /** GraphQL argument name. */
  readonly arg: string;
  readonly column: string;
  readonly op: 'eq' | 'gte' | 'gt' | 'lte' | 'lt';
  readonly description?: string;
}

/** The GraphQL API of one view (all optional: a view may be SQL-only). */
export interface ViewGraphql {
  /** Object type name (PascalCase of the view name unless overridden). */
  readonly type: string;
  readonly description?: string;
  /** `trip(id: ID!): Trip`: by key through a DataLoader. */
  readonly lookup?: { readonly field: string; readonly args: Readonly<Record<string, string>>; readonly description?: string };
  /** `trips(first, after, <filters>): TripConnection!`, keyset-paginated. */
  readonly connection?: {
    readonly field: string;
    readonly description?: string;
    readonly ordering: OrderingModel;
    readonly filters: readonly FilterModel[];
    readonly defaultFirst: number;
    readonly maxFirst: number;
  };
  /** `driverEarnings(driverId!, from, to): [DriverEarningsDay!]!`: a bounded list. */
  readonly list?: {
    readonly field: string;
    readonly description?: string;
    readonly ordering: OrderingModel;
    readonly filters: readonly FilterModel[];
    /** Arguments that must be given. */
    readonly required: readonly string[];
    readonly max: number;
  };
  /** `tripUpdated(<filters>, after): TripChange!`. */
  readonly subscription?: {
    readonly field: string;
    readonly description?: string;
    /** Equality filters (argument → column); the hub indexes these columns. */
    readonly filters: readonly FilterModel[];
    /** Arguments that must be given. */
    readonly required: readonly string[];
    /** At most one of the filters may be given (tripUpdated) instead of any combination. */
    readonly exclusive: boolean;
    /** Change type name and the field holding the row (e.g. `TripChange.trip`). */
    readonly changeType: string;
    readonly nodeField: string;
  };
  /** Enums over text columns: column → GraphQL enum (values are the column's values). */
  readonly enums: ReadonlyArray<{ readonly column: string; readonly type: string; readonly description?: string; readonly values: readonly string[] }>;
  /** Object fields made of several columns, e.g. `fare: Money { amount currency }`; null when `nullWhen` is null. */
  readonly composites: ReadonlyArray<{
    readonly field: string;
    readonly type: string;
    readonly description?: string;
    readonly typeDescription?: string;
    /** Sub-field → column. */
    readonly fields: Readonly<Record<string, string>>;
    readonly nullWhen: string;
  }>;
  /**
   * Fields that read a row of another view by its key (`Trip.driver` → driver_stats), batched
   * through a DataLoader. The other view's permission for the viewer's role decides, as for a
   * direct read; `type`/`columns` give a narrower object type (the public `Driver` profile).
   */
  readonly relations: ReadonlyArray<{
    readonly field: string;
    readonly view: string;
    /** This view's column → the other view's key column. */
    readonly on: Readonly<Record<string, string>>;
    /** Object type (the other view's type unless given) and its columns (all unless given). */
    readonly type?: string;
    readonly typeDescription?: string;
    readonly columns?: readonly string[];
    readonly description?: string;
    /** `null` (default): an unreadable row reads as null; `forbidden`: FORBIDDEN error. */
    readonly denied: 'null' | 'forbidden';
  }>;
}

/** One published view. */
export interface ViewModel {
  /** SQL name, e.g. `trip_history`. */
  readonly name: string;
  readonly description: string;
  /** Columns in projection order. */
  readonly columns: readonly ColumnModel[];
  /** Key columns: a row's identity in every change. */
  readonly key: readonly string[];
  /** Columns subscriptions may filter on besides the key; the hub keeps an index per column. */
  readonly indexed: readonly string[];
  readonly indexes: readonly IndexModel[];
  /** The view's SQL (`schema/<name>.sql`), comments stripped, without `CREATE ... AS`. */
  readonly sql: string;
  /** Other published views this view's SQL reads (they are created first). */
  readonly dependsOn: readonly string[];
  readonly graphql?: ViewGraphql;
  /** Role name → permission. */
  readonly permissions: Readonly<Record<string, Permission>>;
  /** Kafka sink topic suffix (the topic is `<prefix><name>`), as today `view.<name>`. */
  readonly sink: boolean;
}

/** The loaded registry: roles and views, views in dependency order. */
export interface Registry {
  readonly dir: string;
  readonly roles: readonly RoleDecl[];
  readonly views: readonly ViewModel[];
  /** Role of SQL passthrough users declared without one (e.g. `analyst`). */
  readonly sqlDefaultRole: string;
  /** Role of every request when auth is switched off for a local demo (e.g. `ops`). */
  readonly authOffRole: string;
}
