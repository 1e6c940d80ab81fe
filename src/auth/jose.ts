/**
 * `jose` 6 is ESM-only and this package compiles to CommonJS, so it is loaded with a dynamic
 * `import()` (kept as-is under `module: node16`) instead of a static import. One import per process.
 */
function importJose() {
  return import('jose');
}

/** The `jose` module namespace. */
export type Jose = Awaited<ReturnType<typeof importJose>>;

let loading: Promise<Jose> | undefined;

/** Loads `jose` once. */
export function loadJose(): Promise<Jose> {
  loading ??= importJose();
  return loading;
}
