/**
 * jest runs the TypeScript tests through ts-jest. Each test file renders with the real
 * copier, so files run one at a time (the CI machine has two cores and pytest's other
 * worker uses one); the scaffolder backend keeps a handle open after stop(), so the run
 * ends with forceExit.
 */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  maxWorkers: 1,
  forceExit: true,
  testTimeout: 120000,
};
