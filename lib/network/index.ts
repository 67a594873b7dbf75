export * from './existing-egress';
export * from './nat-egress';
export * from './nat-egress-props';
export * from './neon-ip-allow-options';
export * from './secrets-manager-access';
