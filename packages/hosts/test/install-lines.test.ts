import { describe, expect, it } from 'vitest';
import { distributionFamily, installAdvice } from '../src/index.ts';

describe('the install line for what a host lacks', () => {
  it('knows a distribution by its ID or, failing that, its ID_LIKE', () => {
    expect(distributionFamily('ID=debian\nVERSION_ID="12"\n')).toBe('debian');
    expect(distributionFamily('ID=linuxmint\nID_LIKE="ubuntu debian"\n')).toBe('debian');
    expect(distributionFamily('ID="rocky"\nID_LIKE="rhel centos fedora"\n')).toBe('fedora');
    expect(distributionFamily('ID=alpine\n')).toBe('alpine');
    expect(distributionFamily('ID="opensuse-tumbleweed"\n')).toBe('suse');
    expect(distributionFamily('ID=plan9\n')).toBeNull();
    expect(distributionFamily('')).toBeNull();
  });

  it("names each distribution's own packages, once, with sudo unless root", () => {
    expect(installAdvice('debian', ['node', 'wrk', 'h2load', 'nginx'], true).line).toBe(
      'apt-get install -y nodejs wrk nghttp2-client nginx-light',
    );
    expect(installAdvice('fedora', ['h2load'], false).line).toBe('sudo dnf install -y nghttp2');
    expect(installAdvice('alpine', ['node', 'wrk'], true).line).toBe('apk add nodejs wrk');
  });

  it('names the compiler and headers a build of openloop or the addon needs there', () => {
    expect(installAdvice('debian', ['cc', 'zlib.h'], true).line).toBe(
      'apt-get install -y gcc libc6-dev zlib1g-dev',
    );
    expect(installAdvice('alpine', ['cc', 'zlib.h'], false).line).toBe('sudo apk add gcc musl-dev zlib-dev');
    expect(installAdvice('fedora', ['cc'], true).line).toBe('dnf install -y gcc');
  });

  it('says what no package provides instead of inventing one', () => {
    expect(installAdvice('debian', ['weighttp'], true)).toEqual({ line: null, unpackaged: ['weighttp'] });
    expect(installAdvice('debian', ['weighttp', 'wrk'], true)).toEqual({
      line: 'apt-get install -y wrk',
      unpackaged: ['weighttp'],
    });
    expect(installAdvice(null, ['wrk'], true)).toEqual({ line: null, unpackaged: ['wrk'] });
  });
});
