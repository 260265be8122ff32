export {
  DEFAULT_BACKLOG,
  DEFAULT_CONNECTIONS,
  type ExtraDirectives,
  NGINX_PRESETS,
  type NginxConfigOptions,
  type NginxPreset,
  type NginxSettings,
  type PrefixEntry,
  type PresetValues,
  payloadBody,
  type RenderedNginxConfig,
  renderNginxConfig,
  workerConnectionsFor,
  workerRlimitFor,
} from './config.ts';
export {
  detectNginx,
  findNginxBinary,
  NGINX_INSTALL_HINT,
  type NginxDetection,
  type NginxFound,
  type NginxMissing,
  parseBuildOptions,
  parseNginxVersion,
} from './detect.ts';
export { NginxError, type NginxErrorDetails, type NginxFailureStage } from './errors.ts';
export {
  type NginxExit,
  type NginxStopReport,
  type RunningNginx,
  type StartNginxOptions,
  startNginx,
} from './lifecycle.ts';
export {
  defaultWorkerUser,
  listenBacklogs,
  readNofileHardLimit,
  readSomaxconn,
  tailFile,
  versionAtLeast,
} from './system.ts';
