import { defineConfig } from 'vitest/config';

const packages = ['core', 'server', 'nginx', 'driver', 'bench', 'report', 'cli'];

export default defineConfig({
  test: {
    projects: packages.map((name) => ({
      test: {
        name,
        root: `packages/${name}`,
        include: ['test/**/*.test.ts'],
        // Integration tests start real servers and load tools on two shared cores.
        testTimeout: 60_000,
        hookTimeout: 60_000,
      },
    })),
  },
});
