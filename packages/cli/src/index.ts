export type { Command } from './command.ts';
export { main } from './main.ts';
