import { describe, expect, it } from 'vitest';
import { parseRange } from '../src/ranges.ts';

describe('parseRange', () => {
  it.each([
    ['bytes=0-0', { kind: 'partial', start: 0, end: 0 }],
    ['bytes=0-9', { kind: 'partial', start: 0, end: 9 }],
    ['bytes=2-5', { kind: 'partial', start: 2, end: 5 }],
    ['bytes=5-', { kind: 'partial', start: 5, end: 9 }],
    ['bytes=5-100', { kind: 'partial', start: 5, end: 9 }],
    ['bytes=-3', { kind: 'partial', start: 7, end: 9 }],
    ['bytes=-100', { kind: 'partial', start: 0, end: 9 }],
    ['Bytes = 1-2', { kind: 'partial', start: 1, end: 2 }],
    ['bytes= 1-2 ,', { kind: 'partial', start: 1, end: 2 }],
  ])('%s of 10 bytes', (header, expected) => {
    expect(parseRange(header, 10)).toEqual(expected);
  });

  it.each(['bytes=10-', 'bytes=10-20', 'bytes=-0', 'bytes=99999999999999999999-'])(
    '%s of 10 bytes is unsatisfiable',
    (header) => {
      expect(parseRange(header, 10)).toEqual({ kind: 'unsatisfiable' });
    },
  );

  it('treats every range of an empty file as unsatisfiable', () => {
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each(['items=0-1', 'bytes=', 'bytes=-', 'bytes=5-2', 'bytes=a-b', 'bytes=1-2-3', 'bytes 0-1', '0-1'])(
    'ignores the invalid %s (full response)',
    (header) => {
      expect(parseRange(header, 10)).toEqual({ kind: 'full' });
    },
  );

  it('serves several ranges as the full body, unless none is satisfiable', () => {
    expect(parseRange('bytes=0-1,3-4', 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-1,20-30', 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=20-30,40-', 10)).toEqual({ kind: 'unsatisfiable' });
  });
});
