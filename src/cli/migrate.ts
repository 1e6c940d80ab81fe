/** `wavegate migrate plan|apply|status` — placeholder until the RisingWave path lands. */
export async function runMigrate(_args: readonly string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }): Promise<number> {
  io.stderr('wavegate migrate: not available yet (RisingWave path in progress)\n');
  return 2;
}
