import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectNginx, findNginxBinary, parseBuildOptions, parseNginxVersion } from '../src/detect.ts';

const debianV = readFileSync(new URL('./fixtures/nginx-V-1.22.1-debian.txt', import.meta.url), 'utf8');

describe('parsing nginx -V', () => {
  it('reads the version', () => {
    expect(parseNginxVersion(debianV)).toBe('1.22.1');
    expect(parseNginxVersion('nginx version: openresty/1.21.4.1')).toBe('1.21.4.1');
    expect(parseNginxVersion('command not found')).toBeNull();
  });

  it('splits the configure arguments like a shell', () => {
    const options = parseBuildOptions(debianV);
    expect(options).toContain('--with-http_stub_status_module');
    expect(options).toContain('--error-log-path=stderr');
    const ccOpt = options.find((o) => o.startsWith('--with-cc-opt='));
    expect(ccOpt).toMatch(/^--with-cc-opt=-g -O2 .*-D_FORTIFY_SOURCE=2$/);
    expect(parseBuildOptions('no such line')).toEqual([]);
  });
});

describe('detectNginx', () => {
  it('explains how to install nginx when it is missing', async () => {
    const result = await detectNginx({ path: '/nonexistent/sbin/nginx' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain('/nonexistent/sbin/nginx');
    expect(result.installHint).toContain('apt-get install nginx-light');
  });

  it('finds nginx outside PATH in the usual places', async () => {
    const onPath = await findNginxBinary();
    const withoutPath = await findNginxBinary({ PATH: '' });
    if (onPath === '/usr/sbin/nginx') expect(withoutPath).toBe('/usr/sbin/nginx');
    else expect(withoutPath === null || withoutPath.startsWith('/usr/')).toBe(true);
  });

  it('reports the installed nginx with its version and build', async (context) => {
    const result = await detectNginx();
    if (!result.ok) context.skip(`nginx not installed: ${result.reason}`);
    if (!result.ok) return;
    expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.versionText).toContain(`nginx/${result.version}`);
    expect(Array.isArray(result.buildOptions)).toBe(true);
  });
});
