import { openloopCompilerArgs } from '@scaleup/driver';
import {
  BUNDLE_ADDON,
  BUNDLE_ADDON_HEADERS,
  BUNDLE_ADDON_SOURCE,
  BUNDLE_OPENLOOP,
  BUNDLE_OPENLOOP_SOURCE,
  type NativeJob,
} from '@scaleup/hosts';
import { compilerArgs as addonCompilerArgs } from '@scaleup/server';

/**
 * openloop on a host: the build made here when the host's platform matches, else compiled there
 * from the bundle's openloop.c with the flags setup uses (`pnpm build:openloop`).
 */
export const OPENLOOP_JOB: NativeJob = {
  name: BUNDLE_OPENLOOP,
  what: 'openloop',
  sources: [BUNDLE_OPENLOOP_SOURCE],
  compile: (output, dir) => openloopCompilerArgs(output, [], `${dir}/${BUNDLE_OPENLOOP_SOURCE}`),
  check: 'version',
  needs: ['cc', 'zlib.h'],
};

/** The server's zero-copy addon, the same way, with the Node-API headers the bundle carries. */
export const ADDON_JOB: NativeJob = {
  name: BUNDLE_ADDON,
  what: 'zero-copy addon',
  sources: [BUNDLE_ADDON_SOURCE, ...BUNDLE_ADDON_HEADERS],
  compile: (output, dir) => addonCompilerArgs(output, dir, `${dir}/${BUNDLE_ADDON_SOURCE}`),
  check: 'require',
  needs: ['cc'],
};
