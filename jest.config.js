// Three tiers (see docs/testing.md): unit (no Nest container, no I/O), integration (real Redis at
// 127.0.0.1:6379, real SDK clients against local fakes), e2e (the whole app on port 0 / the built CLI).
const transform = { '^.+\\.ts$': ['@swc/jest'] };
// content-disposition@3 (via @fastify/static, for the Swagger UI) ships ESM only: Node loads it with
// require(esm), Jest's module system needs it compiled to CommonJS.
const common = {
  transform: {
    ...transform,
    '/node_modules/content-disposition/.+\\.js$': ['@swc/jest'],
    '/node_modules/@echogarden/.+\\.js$': '<rootDir>/test/support/esm-wasm-transform.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|@echogarden)/)'],
  testEnvironment: '<rootDir>/test/support/node-environment.js',
  moduleFileExtensions: ['ts', 'js', 'json'],
  clearMocks: true,
};

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
      slowTestThreshold: 15,
      setupFilesAfterEnv: ['<rootDir>/test/support/slow-boot-timeout.js'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'],
      slowTestThreshold: 20,
      setupFilesAfterEnv: ['<rootDir>/test/support/slow-boot-timeout.js'],
      globalSetup: '<rootDir>/test/support/ensure-build.js',
    },
  ],
};
