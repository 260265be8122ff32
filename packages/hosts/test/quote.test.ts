import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { remoteCommandLine, shellQuote } from '../src/quote.ts';
import { AWKWARD } from './support/awkward.ts';

describe('shellQuote', () => {
  it('leaves plain words readable and single-quotes the rest', () => {
    expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellQuote('--grace')).toBe('--grace');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('x=y')).toBe("'x=y'");
  });

  it('refuses a NUL byte, which no argv can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  for (const shell of ['/bin/sh', '/bin/bash', '/bin/dash']) {
    it.skipIf(!existsSync(shell))(`round-trips every awkward argument through ${shell}`, async () => {
      const line = remoteCommandLine(['printf', '%s\\0', ...AWKWARD]);
      const result = await execa(shell, ['-c', line], { stripFinalNewline: false });
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(AWKWARD);
    });
  }

  it('execs the command, leaving no shell behind', async () => {
    const result = await execa('/bin/sh', ['-c', remoteCommandLine(['sh', '-c', 'echo $PPID'])]);
    // With exec, the inner sh is the outer one: its parent is this test, not a shell.
    expect(Number(result.stdout)).toBe(process.pid);
  });
});
