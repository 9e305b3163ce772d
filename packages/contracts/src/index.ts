export * from './common';
export * from './volunteer';
export * from './services';
export * from './redeem';
