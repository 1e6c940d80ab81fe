/** One preflight check's result. */
export interface Finding {
  /** Stable id, e.g. `mysql.binlog_format`. */
  readonly check: string;
  readonly ok: boolean;
  /** `error`: RisingWave's CDC will not work (or not resume) until fixed; `warning`: works, but should change. */
  readonly severity: 'error' | 'warning';
  /** What was observed. */
  readonly detail: string;
  /** What to do, when not ok. */
  readonly fix: string | undefined;
}

/** Builds a finding; `fix` is dropped when ok. */
export function finding(check: string, ok: boolean, detail: string, fix: string, severity: Finding['severity'] = 'error'): Finding {
  return { check, ok, severity, detail, fix: ok ? undefined : fix };
}

/** True when no error-level finding failed. */
export function passed(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.ok || f.severity === 'warning');
}
