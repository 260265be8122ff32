import { describe, expect, it } from 'vitest';
import { etagMatches, ifRangeAllows, isNotModified, makeEtag, sameStamp } from '../src/validators.ts';

const stamp = { dev: 1n, ino: 42n, size: 10n, mtimeNs: 1_700_000_000_123_456_789n, ctimeNs: 5n };

describe('makeEtag', () => {
  it('is a quoted strong tag that changes with inode, size and mtime', () => {
    const tag = makeEtag(stamp);
    expect(tag).toMatch(/^"[0-9a-z]+-[0-9a-z]+-[0-9a-z]+"$/);
    expect(makeEtag({ ...stamp })).toBe(tag);
    expect(makeEtag({ ...stamp, ino: 43n })).not.toBe(tag);
    expect(makeEtag({ ...stamp, size: 11n })).not.toBe(tag);
    expect(makeEtag({ ...stamp, mtimeNs: stamp.mtimeNs + 1n })).not.toBe(tag);
  });
});

describe('sameStamp', () => {
  it('compares every field', () => {
    expect(sameStamp(stamp, { ...stamp })).toBe(true);
    expect(sameStamp(stamp, { ...stamp, ctimeNs: 6n })).toBe(false);
    expect(sameStamp(stamp, { ...stamp, dev: 2n })).toBe(false);
  });
});

describe('etagMatches', () => {
  it('uses the weak comparison over a list', () => {
    expect(etagMatches('"a"', '"a"')).toBe(true);
    expect(etagMatches('W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"x", "a"', '"a"')).toBe(true);
    expect(etagMatches('*', '"a"')).toBe(true);
    expect(etagMatches('"b"', '"a"')).toBe(false);
    expect(etagMatches('a', '"a"')).toBe(false);
  });
});

describe('isNotModified', () => {
  const mtimeMs = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT') + 500;
  it('prefers If-None-Match over If-Modified-Since', () => {
    expect(isNotModified('"a"', 'Sun, 06 Nov 1994 08:49:36 GMT', '"a"', mtimeMs)).toBe(true);
    expect(isNotModified('"b"', 'Sun, 06 Nov 2094 08:49:37 GMT', '"a"', mtimeMs)).toBe(false);
  });
  it('compares If-Modified-Since in whole seconds', () => {
    expect(isNotModified(undefined, 'Sun, 06 Nov 1994 08:49:37 GMT', '"a"', mtimeMs)).toBe(true);
    expect(isNotModified(undefined, 'Sun, 06 Nov 1994 08:49:36 GMT', '"a"', mtimeMs)).toBe(false);
    expect(isNotModified(undefined, 'not a date', '"a"', mtimeMs)).toBe(false);
    expect(isNotModified(undefined, undefined, '"a"', mtimeMs)).toBe(false);
  });
});

describe('ifRangeAllows', () => {
  it('needs an exact strong ETag or the exact Last-Modified', () => {
    const lm = 'Sun, 06 Nov 1994 08:49:37 GMT';
    expect(ifRangeAllows(undefined, '"a"', lm)).toBe(true);
    expect(ifRangeAllows('"a"', '"a"', lm)).toBe(true);
    expect(ifRangeAllows('W/"a"', '"a"', lm)).toBe(false);
    expect(ifRangeAllows('"b"', '"a"', lm)).toBe(false);
    expect(ifRangeAllows(lm, '"a"', lm)).toBe(true);
    expect(ifRangeAllows('Sun, 06 Nov 1994 08:49:38 GMT', '"a"', lm)).toBe(false);
  });
});
