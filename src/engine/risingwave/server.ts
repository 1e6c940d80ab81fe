/**
 * Which server the RisingWave engine is talking to, from `SELECT version()`. RisingWave reports
 * PostgreSQL 13.14.0 as its server_version, so only `version()` names it:
 * `PostgreSQL 13.14.0-RisingWave-<version> (<git sha>)`
 * (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/common/src/lib.rs, `PG_VERSION`
 * and the `version()` format). Anything else is taken for a PostgreSQL standing in for RisingWave
 * (the tests' stand-in), which honours the same startup options.
 */

/** The server behind an engine connection. */
export type ServerInfo =
  | { readonly kind: 'risingwave'; readonly version: string; readonly major: number; readonly minor: number }
  | { readonly kind: 'postgres'; readonly version: string };

/** Reads `version()` text. */
export function parseServerVersion(text: string): ServerInfo {
  const rw = /RisingWave-v?(\d+)\.(\d+)[^\s(]*/i.exec(text);
  if (rw !== null) return { kind: 'risingwave', version: rw[0].replace(/^RisingWave-v?/i, ''), major: Number(rw[1]), minor: Number(rw[2]) };
  return { kind: 'postgres', version: text };
}

/**
 * Why the engine cannot use this server, or undefined. The statement timeout travels in the startup
 * `options` (`-c statement_timeout=<n>ms`): RisingWave reads them since v3.0.0
 * (https://github.com/risingwavelabs/risingwave/blob/v3.0.3/src/utils/pgwire/src/pg_protocol.rs,
 * `parse_options`); v2.8.x ignores them (its `process_startup_msg` reads only user, database and
 * application_name: https://github.com/risingwavelabs/risingwave/blob/v2.8.5/src/utils/pgwire/src/pg_protocol.rs),
 * and up to v2.7 the setting is a number of seconds that takes no unit
 * (https://github.com/risingwavelabs/risingwave/blob/v2.7.0/src/common/src/session_config/mod.rs).
 * On those versions every read would run without a timeout, so the engine refuses them.
 */
export function unsupportedServer(info: ServerInfo): string | undefined {
  if (info.kind !== 'risingwave' || info.major >= 3) return undefined;
  return `RisingWave ${info.version} is not supported: it ignores the statement timeout Wavegate sends in the startup options `
    + '(read since RisingWave 3.0); use RisingWave 3.0 or later';
}
