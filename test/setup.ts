/**
 * Fails any test that writes to the console: Wavegate code logs through an injected logger,
 * so console output in a test is a bug (or a forgotten debug line).
 */
const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
const written: string[] = [];

beforeEach(() => {
  written.length = 0;
  for (const m of methods) {
    jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      written.push(`console.${m}: ${args.map(String).join(' ')}`);
    });
  }
});

afterEach(() => {
  jest.restoreAllMocks();
  if (written.length > 0) {
    const lines = written.splice(0).join('\n');
    throw new Error(`test wrote to the console:\n${lines}`);
  }
});
