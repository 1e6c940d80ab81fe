/**
 * What a passthrough statement may call: functions, types and settings are ALLOWLISTS. Anything
 * not named here is refused (42501), so a function added to a future Postgres or RisingWave, or one
 * installed by an extension (pg_ivm, dblink, lo_*), is unreachable until someone adds it here on
 * purpose. Names are matched unqualified or qualified with `pg_catalog` (information_schema helpers
 * with their schema), case-insensitively, as Postgres folds unquoted identifiers.
 *
 * Left out on purpose: everything that touches the server or other sessions (pg_sleep, pg_read_file,
 * pg_ls_dir, pg_stat_file, lo_*, dblink*, pg_terminate_backend, pg_cancel_backend, set_config,
 * pg_reload_conf, pg_advisory_*, txid_current, nextval/setval), functions that run SQL given as text
 * (query_to_xml, table_to_xml, cursor_to_xml, ts_stat), definitions of hidden objects
 * (pg_get_viewdef, pg_get_ruledef, pg_get_triggerdef), name-probing helpers (to_regclass,
 * has_table_privilege) and value generators that can exhaust memory or block the embedded engine
 * (generate_series, repeat). `generate_series` is accepted only in the bounded forms pgjdbc sends
 * (guard/boundedSeries.ts); `lpad`, `rpad`, `format`, `generate_subscripts` and `unnest` only within
 * the bounds of guard/boundedOutput.ts; and the functions here that take an object's OID only with a
 * catalog column (guard/objectRefs.ts).
 */

const AGGREGATES = [
  'count', 'sum', 'avg', 'min', 'max', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp',
  'bool_and', 'bool_or', 'every', 'string_agg', 'array_agg', 'json_agg', 'jsonb_agg', 'json_object_agg',
  'jsonb_object_agg', 'percentile_cont', 'percentile_disc', 'mode', 'corr', 'covar_pop', 'covar_samp',
  'regr_slope', 'regr_intercept', 'regr_count', 'regr_r2', 'regr_avgx', 'regr_avgy', 'regr_sxx', 'regr_sxy',
  'regr_syy', 'bit_and', 'bit_or', 'any_value',
];

const WINDOW = ['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead',
  'first_value', 'last_value', 'nth_value'];

const MATH = ['abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'sqrt', 'cbrt', 'power', 'pow', 'exp',
  'ln', 'log', 'log10', 'mod', 'div', 'pi', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan',
  'atan2', 'width_bucket', 'random', 'gcd', 'lcm', 'scale', 'trim_scale', 'num_nulls', 'num_nonnulls'];

const TEXT = ['lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length',
  'bit_length', 'concat', 'concat_ws', 'substr', 'substring', 'left', 'right', 'strpos', 'position', 'replace',
  'translate', 'trim', 'btrim', 'ltrim', 'rtrim', 'split_part', 'regexp_replace', 'regexp_match',
  'regexp_matches', 'regexp_split_to_array', 'regexp_like', 'regexp_count', 'regexp_substr', 'regexp_instr',
  'starts_with', 'format', 'quote_ident', 'quote_literal', 'quote_nullable', 'md5', 'sha256', 'encode', 'decode',
  'to_hex', 'ascii', 'chr', 'reverse', 'lpad', 'rpad', 'string_to_array', 'array_to_string', 'like_escape', 'overlay',
  'to_tsvector', 'to_tsquery', 'plainto_tsquery', 'websearch_to_tsquery', 'ts_rank', 'ts_headline'];

const ARRAYS = ['unnest', 'array_length', 'array_lower', 'array_upper', 'cardinality', 'array_position',
  'array_positions', 'array_append', 'array_prepend', 'array_cat', 'array_remove', 'array_replace',
  'array_dims', 'array_ndims', 'generate_subscripts'];

const TIME = ['now', 'date_trunc', 'date_part', 'extract', 'date_bin', 'age', 'to_char', 'to_date', 'to_timestamp',
  'to_number', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz', 'make_interval', 'justify_days',
  'justify_hours', 'justify_interval', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp',
  'timezone', 'isfinite', 'overlaps'];

const JSON_FUNCS = ['to_json', 'to_jsonb', 'row_to_json', 'array_to_json', 'json_build_object', 'jsonb_build_object',
  'json_build_array', 'jsonb_build_array', 'json_object', 'jsonb_object', 'json_extract_path',
  'json_extract_path_text', 'jsonb_extract_path', 'jsonb_extract_path_text', 'json_array_length',
  'jsonb_array_length', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text', 'json_array_elements',
  'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'json_object_keys',
  'jsonb_object_keys', 'json_typeof', 'jsonb_typeof', 'jsonb_pretty', 'json_strip_nulls', 'jsonb_strip_nulls',
  'jsonb_set', 'jsonb_insert', 'jsonb_path_query', 'jsonb_path_exists', 'jsonb_path_match',
  'jsonb_path_query_array', 'jsonb_path_query_first'];

/** Function-call spellings of casts (`int8(x)`, `text(x)`). */
const CASTS = ['bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'varchar', 'bpchar', 'date',
  'time', 'timestamp', 'timestamptz', 'interval', 'oid', 'name', 'char', 'json', 'jsonb', 'uuid'];

/** What psql, pgjdbc, SQLAlchemy and BI tools call in their catalog queries. */
const CATALOG = ['format_type', 'pg_get_expr', 'pg_get_userbyid', 'pg_table_is_visible', 'pg_type_is_visible',
  'pg_function_is_visible', 'pg_get_function_arguments', 'pg_get_function_identity_arguments',
  'pg_get_function_result', 'pg_get_constraintdef', 'pg_get_indexdef', 'pg_get_partkeydef', 'obj_description',
  'col_description', 'shobj_description', 'pg_encoding_to_char', 'pg_char_to_encoding', 'current_database',
  'current_schema', 'current_schemas', 'version', 'pg_get_keywords', 'pg_is_in_recovery', 'pg_size_pretty',
  'gen_random_uuid', 'current_setting'];

/** Functions that are fine by name, lower case. */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  ...AGGREGATES, ...WINDOW, ...MATH, ...TEXT, ...ARRAYS, ...TIME, ...JSON_FUNCS, ...CASTS, ...CATALOG,
]);

/** information_schema helper functions pgjdbc calls (schema-qualified only). */
export const ALLOWED_INFORMATION_SCHEMA_FUNCTIONS: ReadonlySet<string> = new Set(['_pg_expandarray']);

/**
 * Settings that `current_setting()` may read and `SHOW` answers; nothing here reveals paths,
 * addresses or credentials. Keys are lower case.
 */
export const READABLE_SETTINGS: ReadonlySet<string> = new Set([
  'server_version', 'server_version_num', 'server_encoding', 'client_encoding', 'datestyle', 'timezone',
  'integer_datetimes', 'standard_conforming_strings', 'intervalstyle', 'max_identifier_length', 'lc_collate',
  'lc_ctype', 'search_path', 'application_name', 'transaction_isolation', 'transaction_read_only',
  'default_transaction_read_only', 'default_transaction_isolation', 'extra_float_digits', 'is_superuser',
  'block_size', 'max_index_keys', 'bytea_output', 'statement_timeout',
]);

/** Type names (last component, lower case) casts and column definitions may use. */
export const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  'bool', 'boolean', 'int2', 'smallint', 'int4', 'int', 'integer', 'int8', 'bigint', 'float4', 'real', 'float8',
  'float', 'double precision', 'numeric', 'decimal', 'text', 'varchar', 'character varying', 'bpchar', 'char',
  'character', 'name', 'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval', 'json', 'jsonb', 'uuid',
  'bytea', 'oid', 'regclass', 'regtype', 'regproc', 'regprocedure', 'regnamespace', 'regrole', 'regoper',
  'regoperator', 'regconfig', 'xid', 'tsvector', 'tsquery', 'inet', 'cidr', 'bit', 'varbit', 'money', 'int2vector',
  'oidvector', 'anyarray', 'unknown', 'record',
]);

/** information_schema domains (they show up in casts some tools write). */
export const ALLOWED_INFORMATION_SCHEMA_TYPES: ReadonlySet<string> = new Set([
  'sql_identifier', 'cardinal_number', 'character_data', 'yes_or_no', 'time_stamp',
]);
