import { buildZeroCopyAddon } from '../src/zero-copy-build.ts';

/**
 * Tests that start the server must exercise the send path users get after setup, which includes
 * the zero-copy addon; building it here (a no-op when it is up to date) keeps a plain `vitest run`
 * from silently testing only the write() fallback. A missing compiler fails the run loudly.
 */
export default async function setup(): Promise<void> {
  await buildZeroCopyAddon();
}
