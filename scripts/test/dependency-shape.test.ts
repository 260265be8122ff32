import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { shapeConfig } = require('../dependency-shape.cjs') as {
  shapeConfig: (rootDir: string, layers?: string[][]) => unknown;
};
// The package's exports do not include its bin: take it from the root's node_modules, as pnpm does.
const DEPCRUISE = fileURLToPath(
  new URL('../../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url),
);
const FIXTURE = fileURLToPath(new URL('./fixtures/shape/', import.meta.url));
const CLEAN = fileURLToPath(new URL('./fixtures/shape/clean/', import.meta.url));

/** depcruise as `pnpm lint` runs it, in a fixture monorepo with its own .dependency-cruiser.cjs. */
function depcruise(cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEPCRUISE, 'packages'], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('the dependency shape rule (pnpm lint)', () => {
  it('fails on a cycle through type imports and on an upward import, naming both', async () => {
    const { code, output } = await depcruise(FIXTURE);
    expect(code).not.toBe(0);
    expect(output).toMatch(/no-circular: packages\/core\/src\/a\.ts →\s+packages\/core\/src\/b\.ts →/);
    expect(output).toContain('upward-from-core: packages/core/src/upward.ts → packages/bench/src/index.ts');
    // bench → core is declared and downward: not a violation.
    expect(output).not.toContain('upward-from-bench');
    expect(output).toContain('2 dependency violations');
  });

  it('passes the same packages without the cycle and the upward import', async () => {
    const { code, output } = await depcruise(CLEAN);
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('refuses a package.json that declares a dependency against the layers', () => {
    expect(() => shapeConfig(FIXTURE, [['bench'], ['core']])).toThrow(
      'packages/bench/package.json declares @scaleup/core, which is not in a lower layer',
    );
    expect(() => shapeConfig(FIXTURE, [['core']])).toThrow('package bench has no layer in LAYERS');
  });
});
