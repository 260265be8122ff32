/** Where in the lifecycle nginx failed; tells a reader whether it ever served. */
export type NginxFailureStage = 'validate' | 'start' | 'ready' | 'run' | 'stop';

export interface NginxErrorDetails {
  stage: NginxFailureStage;
  /** nginx's own words: its stderr or the last lines of its error log. */
  nginxMessage?: string | undefined;
  errorLogPath?: string | undefined;
  errorLogTail?: string | undefined;
  /** Kept on failure so the config and the log can be read afterwards; null when removed. */
  prefix?: string | null | undefined;
  configPath?: string | undefined;
}

/**
 * nginx refused the config, did not come up, died, or did not stop. The message already holds
 * nginx's own text, so printing it alone is enough.
 */
export class NginxError extends Error {
  override name = 'NginxError';
  readonly details: NginxErrorDetails;

  constructor(message: string, details: NginxErrorDetails) {
    super(message);
    this.details = details;
  }
}
