import { describe, expect, it } from 'vitest';
import { directoryLocation, isInsideRoot, resolveTargetPath, targetPathPart } from '../src/paths.ts';

describe('targetPathPart', () => {
  it('strips the query and accepts absolute-form', () => {
    expect(targetPathPart('/a/b?c=d')).toBe('/a/b');
    expect(targetPathPart('http://host:80/a?x')).toBe('/a');
    expect(targetPathPart('HTTPS://host')).toBe('/');
    expect(targetPathPart('http://host?q')).toBe('/');
    expect(targetPathPart('*')).toBeUndefined();
    expect(targetPathPart('ftp://host/a')).toBeUndefined();
  });
});

describe('resolveTargetPath', () => {
  it('splits and decodes each segment once', () => {
    expect(resolveTargetPath('/a/b%20c/d.txt')).toEqual({
      ok: true,
      segments: ['a', 'b c', 'd.txt'],
      directory: false,
    });
    expect(resolveTargetPath('/%252e%252e/x')).toEqual({
      ok: true,
      segments: ['%2e%2e', 'x'],
      directory: false,
    });
    expect(resolveTargetPath('/caf%C3%A9')).toEqual({ ok: true, segments: ['café'], directory: false });
  });

  it('collapses empty and dot segments and notes a trailing slash', () => {
    expect(resolveTargetPath('//a/./b//')).toEqual({ ok: true, segments: ['a', 'b'], directory: true });
    expect(resolveTargetPath('/')).toEqual({ ok: true, segments: [], directory: true });
    expect(resolveTargetPath('/%2e/a')).toEqual({ ok: true, segments: ['a'], directory: false });
  });

  it.each([
    '/../etc/passwd',
    '/a/../../etc/passwd',
    '/%2e%2e/etc/passwd',
    '/%2E%2E/etc/passwd',
    '/..%2fetc%2fpasswd',
    '/a%2f..%2f..%2fetc',
    '/..\\..\\etc\\passwd',
    '/%5c..%5cetc',
    '/a%00b',
    '/a%00',
    'http://host/../etc/passwd',
  ])('refuses %s with 403', (target) => {
    const result = resolveTargetPath(target);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.status).toBe(403);
  });

  it('answers 404 for escapes that are not UTF-8 and 400 for broken escapes', () => {
    expect(resolveTargetPath('/%c0%ae%c0%ae/etc/passwd')).toMatchObject({ ok: false, status: 404 });
    expect(resolveTargetPath('/%zz')).toMatchObject({ ok: false, status: 400 });
    expect(resolveTargetPath('/%4')).toMatchObject({ ok: false, status: 400 });
    expect(resolveTargetPath('*')).toMatchObject({ ok: false, status: 400 });
  });
});

describe('isInsideRoot', () => {
  it('accepts the root and paths beneath it only', () => {
    expect(isInsideRoot('/srv/www', '/srv/www')).toBe(true);
    expect(isInsideRoot('/srv/www', '/srv/www/a/b')).toBe(true);
    expect(isInsideRoot('/srv/www', '/srv/www2/a')).toBe(false);
    expect(isInsideRoot('/srv/www', '/srv')).toBe(false);
    expect(isInsideRoot('/', '/etc/passwd')).toBe(true);
  });
});

describe('directoryLocation', () => {
  it('re-encodes segments so the redirect stays on this site', () => {
    expect(directoryLocation(['a b', 'c'])).toBe('/a%20b/c/');
    expect(directoryLocation(['evil.com'])).toBe('/evil.com/');
    expect(directoryLocation([])).toBe('/');
  });
});
