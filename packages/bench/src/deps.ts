import type { ToolInfo } from '@scaleup/core';
import { adapterFor, detectTools, prepareLoad, runLoad } from '@scaleup/driver';
import { nginxPort } from './nginx-port.ts';
import type { RunnerDeps } from './ports.ts';

/** The real components: the driver's adapters and a real nginx. Tests may pass their own. */
export async function createDefaultDeps(): Promise<RunnerDeps> {
  return {
    async detectTools(): Promise<ToolInfo[]> {
      return (await detectTools()).map(({ tool, detection }) =>
        detection.found
          ? { name: tool, version: detection.version, path: detection.path, missing: null }
          : {
              name: tool,
              version: null,
              path: null,
              missing: `${detection.reason}; install: ${detection.install}`,
            },
      );
    },
    async loadTool(name) {
      const detection = await adapterFor(name).detect();
      if (!detection.found) throw new Error(`${name} is not available: ${detection.reason}`);
      return {
        name,
        version: detection.version,
        validate(spec) {
          prepareLoad(spec, name);
        },
        run(spec, options) {
          return runLoad(spec, {
            tool: name,
            rawOutputPath: options.rawOutputPath,
            signal: options.signal,
            ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
          });
        },
      };
    },
    nginx: nginxPort,
  };
}
