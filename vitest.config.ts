import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = ['core', 'server', 'nginx', 'driver', 'hosts', 'bench', 'report', 'cli'];
/** Projects whose tests start the scaleup server, which should send the way it does after setup. */
const startsServer = new Set(['server', 'bench', 'cli', 'driver']);
/** Projects with a per-file setup (temporary directories removed after each file). */
const withSetup = new Set(['report']);
const buildAddon = fileURLToPath(new URL('./packages/server/test/global-setup.ts', import.meta.url));
/** Projects whose tests run the driver's constant-rate tool (openloop), built from C. */
const runsOpenloop = new Set(['driver', 'cli']);
const buildOpenloop = fileURLToPath(new URL('./packages/driver/test/global-setup.ts', import.meta.url));

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        test: {
          name,
          root: `packages/${name}`,
          include: ['test/**/*.test.ts'],
          globalSetup: [
            ...(startsServer.has(name) ? [buildAddon] : []),
            ...(runsOpenloop.has(name) ? [buildOpenloop] : []),
          ],
          setupFiles: withSetup.has(name) ? ['test/setup.ts'] : [],
          // Integration tests start real servers and load tools on two shared cores.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      })),
      // Checks of the repository's own tooling (scripts/), such as the dependency shape rule.
      { test: { name: 'scripts', root: 'scripts', include: ['test/**/*.test.ts'], testTimeout: 60_000 } },
    ],
  },
});
