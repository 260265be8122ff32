export { localHost } from './local.ts';
export { type PreflightNeeds, type PreflightReport, preflightHost } from './preflight.ts';
export { LEADER_IN_CHECKOUT, LEADER_PATH } from './protocol.ts';
export { remoteCommandLine, shellQuote } from './quote.ts';
export { signalOn } from './signal.ts';
export { type SshHostOptions, sshHost } from './ssh.ts';
export { within } from './time.ts';
export type {
  ExecOptions,
  ExecResult,
  Host,
  HostFacts,
  HostProcess,
  Lines,
  ProcessExit,
  SpawnOptions,
} from './types.ts';
