import type { ColumnType } from '../views/model';

/**
 * Postgres type OIDs the passthrough names in RowDescription / ParameterDescription, and the
 * lookups from SQL type names and view registry types. Clients render values by OID (psql aligns
 * numbers, JDBC picks getter types, Metabase picks visualisations), so the OIDs must be right.
 */
export const Oid = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int2vector: 22, int4: 23, regproc: 24, text: 25,
  oid: 26, xid: 28, oidvector: 30, json: 114, xml: 142, point: 600, cidr: 650, float4: 700, float8: 701,
  unknown: 705, money: 790, inet: 869, bpchar: 1042, varchar: 1043, date: 1082, time: 1083, timestamp: 1114,
  timestamptz: 1184, interval: 1186, timetz: 1266, bit: 1560, varbit: 1562, numeric: 1700, regprocedure: 2202,
  regoper: 2203, regoperator: 2204, regclass: 2205, regtype: 2206, record: 2249, anyarray: 2277, uuid: 2950,
  tsvector: 3614, tsquery: 3615, regconfig: 3734, jsonb: 3802, regnamespace: 4089, regrole: 4096,
} as const;

/** Registry column type → OID (text 25, int8 20, float8 701, numeric 1700, timestamptz 1184, date 1082, bool 16). */
export const REGISTRY_OID: { readonly [T in ColumnType]: number } = {
  text: Oid.text, int: Oid.int8, float: Oid.float8, numeric: Oid.numeric, timestamptz: Oid.timestamptz, date: Oid.date, bool: Oid.bool,
};

/** Type names as the parser leaves them (`integer` → `int4`) plus information_schema domains. */
const BY_NAME: Readonly<Record<string, number>> = {
  bool: Oid.bool, boolean: Oid.bool, bytea: Oid.bytea, char: Oid.char, name: Oid.name, int8: Oid.int8, bigint: Oid.int8,
  int2: Oid.int2, smallint: Oid.int2, int4: Oid.int4, int: Oid.int4, integer: Oid.int4, regproc: Oid.regproc,
  text: Oid.text, oid: Oid.oid, xid: Oid.xid, json: Oid.json, xml: Oid.xml, float4: Oid.float4, real: Oid.float4,
  float8: Oid.float8, float: Oid.float8, 'double precision': Oid.float8, money: Oid.money, inet: Oid.inet,
  cidr: Oid.cidr, bpchar: Oid.bpchar, character: Oid.bpchar, varchar: Oid.varchar, 'character varying': Oid.varchar,
  date: Oid.date, time: Oid.time, timestamp: Oid.timestamp, timestamptz: Oid.timestamptz, interval: Oid.interval,
  timetz: Oid.timetz, bit: Oid.bit, varbit: Oid.varbit, numeric: Oid.numeric, decimal: Oid.numeric,
  regprocedure: Oid.regprocedure, regoper: Oid.regoper, regoperator: Oid.regoperator, regclass: Oid.regclass,
  regtype: Oid.regtype, uuid: Oid.uuid, tsvector: Oid.tsvector, tsquery: Oid.tsquery, regconfig: Oid.regconfig,
  jsonb: Oid.jsonb, regnamespace: Oid.regnamespace, regrole: Oid.regrole, int2vector: Oid.int2vector,
  oidvector: Oid.oidvector, record: Oid.record, unknown: Oid.text,
  sql_identifier: Oid.name, cardinal_number: Oid.int4, character_data: Oid.varchar, yes_or_no: Oid.varchar,
  time_stamp: Oid.timestamptz,
  // regtype output (pg_typeof(x)::text) spells some types in SQL syntax.
  'timestamp with time zone': Oid.timestamptz, 'timestamp without time zone': Oid.timestamp,
  'time without time zone': Oid.time, 'time with time zone': Oid.timetz, '"char"': Oid.char, 'bit varying': Oid.varbit,
};

/** Array type of a scalar OID, where clients commonly meet it. */
const ARRAY_OF: Readonly<Record<number, number>> = {
  [Oid.bool]: 1000, [Oid.char]: 1002, [Oid.name]: 1003, [Oid.int2]: 1005, [Oid.int4]: 1007, [Oid.text]: 1009,
  [Oid.varchar]: 1015, [Oid.int8]: 1016, [Oid.float4]: 1021, [Oid.float8]: 1022, [Oid.oid]: 1028,
  [Oid.date]: 1182, [Oid.timestamp]: 1115, [Oid.timestamptz]: 1185, [Oid.numeric]: 1231, [Oid.uuid]: 2951,
  [Oid.json]: 199, [Oid.jsonb]: 3807,
};

/** OID of a type name (last name component), or undefined. */
export function oidOfTypeName(name: string, array = false): number | undefined {
  const base = BY_NAME[name.toLowerCase()];
  if (base === undefined || !array) return base;
  return ARRAY_OF[base];
}

/** pg_type.typlen for RowDescription (-1 = variable length). */
export function typeSize(oid: number): number {
  switch (oid) {
    case Oid.bool: case Oid.char: return 1;
    case Oid.int2: return 2;
    case Oid.int4: case Oid.oid: case Oid.float4: case Oid.date: case Oid.regproc: case Oid.regclass: case Oid.regtype:
    case Oid.regnamespace: case Oid.regrole: case Oid.xid: return 4;
    case Oid.int8: case Oid.float8: case Oid.timestamp: case Oid.timestamptz: case Oid.time: case Oid.money: return 8;
    case Oid.interval: case Oid.timetz: case Oid.uuid: return 16;
    case Oid.name: return 64;
    default: return -1;
  }
}

/** Integer families, for arithmetic result types. */
export const INT_OIDS: ReadonlySet<number> = new Set([Oid.int2, Oid.int4, Oid.int8]);

/**
 * OID of a type as `regtype` prints it (`integer`, `timestamp with time zone`, `text[]`,
 * `information_schema.sql_identifier`, `character varying(3)`), or undefined.
 */
export function oidOfRegtype(printed: string): number | undefined {
  let t = printed.trim().toLowerCase();
  const array = t.endsWith('[]');
  if (array) t = t.slice(0, -2);
  t = t.replace(/\(.*\)/, '').trim();
  const dot = t.lastIndexOf('.');
  if (dot >= 0 && !t.startsWith('"')) t = t.slice(dot + 1);
  return oidOfTypeName(t, array);
}
