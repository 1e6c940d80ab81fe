/**
 * Retries `check` until it stops throwing (or returns a truthy value) or `timeoutMs` passes.
 * Use it to wait for a condition, never a fixed sleep. The default bound is only there to stop a
 * hung test with a message: the machine may be loaded (load average 20 on 2 cores was seen), so it
 * is 30 s rather than 5 s; a met condition returns at once.
 */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== undefined && value !== null) return value;
      lastError = new Error('condition returned a falsy value');
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`waitFor timed out after ${timeoutMs} ms: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
