import { UsageError } from '@scaleup/core';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, loadSpecProblems, validateLoadSpec } from '../src/spec.ts';

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
    [{ ...ok, url: 'http://example.com/' }, /only loopback hosts/],
    [{ ...ok, url: 'http://10.0.0.1/' }, /only loopback hosts/],
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
});
