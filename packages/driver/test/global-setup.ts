import { buildOpenloop } from '../src/openloop-build.ts';

/**
 * The open-loop tests run the real openloop binary; building it here (a no-op when it is up to
 * date) keeps a plain `vitest run` from testing a stale binary. A missing compiler or zlib fails
 * the run loudly.
 */
export default async function setup(): Promise<void> {
  await buildOpenloop();
}
