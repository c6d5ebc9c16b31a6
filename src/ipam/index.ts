// Public surface of the pure IPAM core (what src/speaker's IPAM controller imports).
export * from './range.ts';
export * from './allocator.ts';
export * from './pool.ts';
export * from './validate.ts';
export * from './service-request.ts';
export * from './sharing.ts';
export * from './choose.ts';
export * from './state.ts';
export * from './plan.ts';
