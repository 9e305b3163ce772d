export * from './common';
export * from './volunteer';
export * from './services';
export * from './timebank';
export * from './redeem';
