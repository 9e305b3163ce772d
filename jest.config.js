// Two test sizes (STYLE.md principle 14): unit specs beside the code for pure rules, and
// integration specs that run against the real broker, MongoDB-protocol server and services,
// which globalSetup starts once for the whole run.
// ts-jest only transpiles (type checking is `npm run lint`'s job), which keeps the run fast.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  // The integration suite shares one running platform on a 2-core machine; one worker keeps
  // timings honest. Unit specs are fast enough not to need more.
  maxWorkers: 1,
  // Integration specs wait for events to cross Kafka; Jest 29 reads this only at the root.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/packages/*/src/**/*.spec.ts', '<rootDir>/services/*/src/**/*.spec.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.int.spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
};
