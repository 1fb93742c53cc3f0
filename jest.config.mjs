// One Jest run over every package, so CI gets a single JSON result.
export default {
  projects: ['<rootDir>/packages/*/jest.config.mjs'],
  maxWorkers: 2,
  // Global-only option: the projects' own testTimeout is ignored in a multi-project run.
  testTimeout: 60_000,
};
