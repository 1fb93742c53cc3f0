// One Jest run over every package, so CI gets a single JSON result.
export default {
  projects: ['<rootDir>/packages/*/jest.config.mjs'],
  maxWorkers: 2,
};
