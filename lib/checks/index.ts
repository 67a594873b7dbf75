export * from './fidelity-check';
export * from './migration-preflight';
export * from './migration-verification';
export * from './distributed-verification';
