import { describe, expect, it } from 'vitest';
import { buildTable, concerns, describeServer, payloadLabel, reportDate } from '../src/model.ts';
import { buildResults, machineA, machineB } from './fixtures/build.ts';

describe('buildTable', () => {
  it('derives the seed layout: payloads ascending, file, fixed, custom command, nginx last', () => {
    const table = buildTable(buildResults(machineA));
    expect(table.payloads).toEqual([40, 10000]);
    expect(table.rows.map((r) => r.label)).toEqual([
      'scaleup file resource',
      'scaleup fixed resource',
      'twisted fixed resource',
      'nginx',
    ]);
    const nginx = table.rows.at(-1)!;
    expect(nginx.cells.get(40)?.id).toBe('nginx-2');
    expect(nginx.cells.get(10000)?.id).toBe('nginx-1');
  });

  it('gives a resource its own row per accept mode when a run holds several', () => {
    const results = buildResults(machineB);
    const extra = structuredClone(results.scenarios.find((s) => s.id === '2a')!);
    extra.id = '2a-rr';
    extra.scenarioId = '2a-rr';
    if (extra.server.kind === 'scaleup') extra.server.accept = 'rr';
    results.scenarios.push(extra);
    const labels = buildTable(results).rows.map((r) => r.label);
    expect(labels).toContain('scaleup fixed resource (accept shared, 2 workers, backlog 511)');
    expect(labels).toContain('scaleup fixed resource (accept rr, 2 workers, backlog 511)');
  });
});

describe('helpers', () => {
  it('names the node:http engine, so its row never reads like the net engine beside it', () => {
    const results = buildResults(machineB);
    const http = structuredClone(results.scenarios.find((s) => s.id === '2a')!);
    http.id = '2a-http';
    http.scenarioId = '2a-http';
    if (http.server.kind === 'scaleup') http.server.engine = 'http';
    results.scenarios.push(http);
    const labels = buildTable(results).rows.map((r) => r.label);
    expect(labels).toContain('scaleup fixed resource (accept shared, 2 workers, backlog 511)');
    expect(labels).toContain(
      'scaleup fixed resource (engine node:http, accept shared, 2 workers, backlog 511)',
    );
    expect(describeServer(http.server)).toMatch(/^scaleup, engine node:http, fixed resource,/);
  });

  it('labels payloads as the seed did', () => {
    expect(payloadLabel(40)).toBe('40 bytes');
    expect(payloadLabel(10000)).toBe('10 kB');
    expect(payloadLabel(1500)).toBe('1500 bytes');
  });

  it('dates a report by the run, not the clock', () => {
    const results = buildResults(machineA);
    expect(reportDate(results).toISOString()).toBe('2026-11-26T10:06:12.000Z');
    results.run.finishedAt = null;
    expect(reportDate(results).toISOString()).toBe('2026-11-26T10:00:00.000Z');
    results.run.startedAt = 'garbage';
    expect(reportDate(results).toISOString()).toBe('1980-01-01T00:00:00.000Z');
  });

  it('lists every concern: warnings, invalid and client-bound rounds, skips, failed tuning checks', () => {
    const texts = concerns(buildResults(machineA)).map((c) => `${c.scenario ?? '-'} ${c.text}`);
    expect(texts).toContain('- The machine is virtualised (kvm): absolute figures swing; compare ratios.');
    expect(texts).toContain('1b Round 2 invalid: 1523 responses failed (5xx)');
    expect(texts).toContain('2a Round 1 client-bound: wrk used 99% of its core');
    expect(texts.some((t) => t.startsWith('tw-1 Skipped: pypy3 not found'))).toBe(true);
    expect(texts.some((t) => t.startsWith('- Tuning: open files (soft) is 1024'))).toBe(true);
    expect(texts.some((t) => t.includes('somaxconn'))).toBe(false);
  });
});
