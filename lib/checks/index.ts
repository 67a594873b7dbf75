export * from './fidelity-check';
export * from './migration-preflight';
export * from './migration-verification';
