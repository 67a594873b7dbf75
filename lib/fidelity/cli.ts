#!/usr/bin/env node
// Placeholder: `npx cdk-neon-migration preflight|verify` arrives with the data-fidelity module.
console.error('usage: cdk-neon-migration preflight|verify');
process.exitCode = 2;
