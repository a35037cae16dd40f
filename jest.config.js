// Two suites: unit tests need no servers; integration tests share one real stack per run
// (started by globalSetup, isolated by namespace). Both run in band: the machine has 2 cores.
const tsJest = ['ts-jest', { useESM: true, diagnostics: { ignoreCodes: [151002] } }];

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  // bench-results/ holds the bench's own stack (etcd's *.snap files are not jest snapshots).
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/test-output/', '<rootDir>/bench-results/'],
};

export default {
  // Integration tests wait on real servers; per-project testTimeout is not honoured by jest.
  testTimeout: 180_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Replays committed histories; needs no server.
    { ...common, displayName: 'replay', testMatch: ['<rootDir>/test/replay/**/*.test.ts'] },
    // The workflow against stub activities on a Temporal dev server of its own (the `temporal` binary only).
    { ...common, displayName: 'runbook', testMatch: ['<rootDir>/test/runbook/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      slowTestThreshold: 60,
    },
  ],
};
