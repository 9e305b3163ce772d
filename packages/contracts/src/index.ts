export * from './common';
export * from './volunteer';
export * from './services';
