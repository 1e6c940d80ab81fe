/** Two tiers, selected with `--selectProjects unit|integration`. Integration tests use real PGlite,
 * real HTTP and websockets on port 0; they share nothing between files (each makes its own engine). */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  // `wavegate/...` imports (the examples') resolve to the TypeScript sources, as in tsconfig.json's
  // customConditions; jest-environment-node's own conditions follow.
  testEnvironmentOptions: { customExportConditions: ['wavegate-source', 'node', 'node-addons'] },
};
module.exports = {
  maxWorkers: 2,
  // Only a guard against a hung test: on a loaded machine (load average 30 on 2 cores was seen)
  // starting a gateway in beforeAll took over 60 s, and a hook that times out leaves what it was
  // starting running (its afterAll has nothing to close), which kept Jest workers from exiting.
  testTimeout: 300000,
  globalSetup: '<rootDir>/test/globalSetup.js',
  globalTeardown: '<rootDir>/test/globalTeardown.js',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
};
