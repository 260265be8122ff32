import { describe, expect, it } from 'vitest';
import { HostEnvironmentSchema } from '../src/results-schema.ts';

/** A host entry as results.json files written before `code` existed hold it. */
const OLD_HOST = {
  name: 'lg1',
  roles: ['load'],
  address: '198.18.1.1',
  hostname: 'lg1',
  cpuModel: 'cpu',
  logicalCores: 2,
  memoryBytes: null,
  kernel: '6.1.0',
  nodeVersion: 'v20.20.2',
  clockOffsetMs: 0.4,
  tools: [],
  nginx: null,
  tuning: [],
};

describe('hosts[].code: what of scaleup ran on each host', () => {
  it('reads older files without it as unknown', () => {
    expect(HostEnvironmentSchema.parse(OLD_HOST).code).toBeNull();
  });

  it('keeps the bundle hash, the addon and the bytes copied', () => {
    const code = {
      kind: 'bundle',
      version: 'a'.repeat(64),
      zeroCopyAddon: false,
      copiedBytes: 0,
      note: 'no zero-copy addon for arm64-musl',
    };
    expect(HostEnvironmentSchema.parse({ ...OLD_HOST, code }).code).toEqual(code);
  });

  it('refuses a kind it does not know', () => {
    const code = { kind: 'container', version: null, zeroCopyAddon: null, copiedBytes: null, note: null };
    expect(HostEnvironmentSchema.safeParse({ ...OLD_HOST, code }).success).toBe(false);
  });
});
