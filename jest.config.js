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
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/globalSetup.js',
  globalTeardown: '<rootDir>/test/globalTeardown.js',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
};
