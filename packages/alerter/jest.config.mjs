import { jestConfig } from '../../jest.config.base.mjs';

export default jestConfig({ displayName: import.meta.url.split('/').at(-2) });
