import { UsageError } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { isAllowedTarget, isLoopbackHost, loadSpecProblems, validateLoadSpec } from '../src/spec.ts';

const ok = { url: 'http://127.0.0.1:8080/', requests: 1000, connections: 10, threads: 2, keepAlive: true };

describe('load spec validation', () => {
  it('accepts a seed-like spec and fills defaults', () => {
    expect(validateLoadSpec(ok)).toMatchObject({ method: 'GET', headers: {}, timeoutSeconds: 30 });
  });

  it.each([
    [{ ...ok, connections: 1 }, /fewer connections \(1\) than threads \(2\)/],
    [{ ...ok, requests: 0 }, /requests/],
    [{ ...ok, durationSeconds: 5 }, /exactly one of/],
    [{ ...ok, requests: undefined }, /exactly one of/],
    [{ ...ok, url: 'https://127.0.0.1/' }, /only http:\/\//],
    [
      { ...ok, url: 'http://example.com/' },
      /only loopback \(127\.0\.0\.0\/8, ::1, localhost\), the benchmark network/,
    ],
    [
      { ...ok, url: 'http://10.0.0.1/' },
      /only loopback \(127\.0\.0\.0\/8, ::1, localhost\), the benchmark network/,
    ],
    [{ ...ok, url: 'not a url' }, /not a URL/],
    [{ ...ok, requests: undefined, durationSeconds: 30 }, /shorter than the time bound/],
  ])('refuses %j', (spec, message) => {
    expect(loadSpecProblems(spec).join('; ')).toMatch(message);
    expect(() => validateLoadSpec(spec)).toThrow(UsageError);
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '[::1]', '::1', 'localhost'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['128.0.0.1', '0.0.0.0', '::', 'localhost.example.com', '192.168.1.1']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  it('allows the benchmark network and the server hosts the user named, nothing else', () => {
    for (const host of ['198.18.0.1', '198.19.255.254', '[::1]']) expect(isAllowedTarget(host)).toBe(true);
    for (const host of ['198.17.0.1', '198.20.0.1', '10.0.0.1', 'lab-server'])
      expect(isAllowedTarget(host)).toBe(false);
    expect(isAllowedTarget('lab-server', ['lab-server'])).toBe(true);
    expect(isAllowedTarget('10.0.0.7', ['10.0.0.7'])).toBe(true);
    expect(loadSpecProblems({ ...ok, url: 'http://198.18.3.2:8080/' })).toEqual([]);
    expect(loadSpecProblems({ ...ok, url: 'http://10.0.0.7/', allowedTargets: ['10.0.0.7'] })).toEqual([]);
  });
});
