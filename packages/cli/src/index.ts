// @shed/cli is used through its `shed` binary (main.ts); these are its reusable pieces.
export { exitStatus } from './commands/run.js';
export { table } from './output.js';
