export { main } from './main.ts';
export type { Command } from './command.ts';
