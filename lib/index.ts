export * from './neon';
export * from './network';
export * from './sources';
export * from './replication';
export * from './task';
export * from './lifecycle';
export * from './monitoring';
export * from './fidelity';
