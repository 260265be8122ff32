/** One subcommand of the scaleup CLI: a thin layer over the package that does the work. */
export interface Command {
  name: string;
  /** Receives the arguments after the subcommand name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
