export { createTestEnvironment, deleteKeys, type TestEnvironment, type TestEnvironmentOptions } from './test-environment.js';
