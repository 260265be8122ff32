import { LOAD_TOOLS, type LoadToolName, UsageError } from '@scaleup/core';
import type { Detection, LoadToolAdapter } from './adapter.ts';
import { autocannon } from './adapters/autocannon.ts';
import { h2load } from './adapters/h2load.ts';
import { openloop } from './adapters/openloop.ts';
import { weighttp } from './adapters/weighttp.ts';
import { wrk } from './adapters/wrk.ts';

const ADAPTERS: Record<LoadToolName, LoadToolAdapter> = { autocannon, h2load, wrk, weighttp, openloop };

export function adapterFor(name: LoadToolName): LoadToolAdapter {
  return ADAPTERS[name];
}

/** The tool name from user input, or a UsageError listing the known ones. */
export function toolNamed(name: string): LoadToolName {
  if (!(LOAD_TOOLS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown load tool '${name}' (tools: ${LOAD_TOOLS.join(', ')})`);
  }
  return name as LoadToolName;
}

export interface ToolStatus {
  tool: LoadToolName;
  detection: Detection;
}

/** Every known tool and whether it can run here. */
export async function detectTools(): Promise<ToolStatus[]> {
  return Promise.all(LOAD_TOOLS.map(async (tool) => ({ tool, detection: await ADAPTERS[tool].detect() })));
}

/** h2load when installed (a native tool, the closest to the seed's weighttp), else autocannon. */
export async function defaultTool(): Promise<LoadToolName> {
  return (await h2load.detect()).found ? 'h2load' : 'autocannon';
}
