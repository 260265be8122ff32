import { describe, expect, it } from 'vitest';
import { type Host, preflightHost } from '../src/index.ts';

/**
 * The hint is a command the user pastes into a shell: a host name from a profile or a suite is
 * data there, so it is quoted and never runs as shell syntax.
 */
describe('preflight hint for a host that does not answer ssh', () => {
  it('quotes the host name in the ssh command it suggests', async () => {
    const unreachable = {
      kind: 'ssh',
      name: 'lab;touch /tmp/owned',
      leaderCommand: ['node', '/nowhere/group-leader.mjs'],
      shell: async () => ({ exitCode: 255, stdout: '', stderr: 'Connection refused', timedOut: false }),
    } as unknown as Host;
    const report = await preflightHost(unreachable, { timeoutMs: 1000 });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain("try: ssh 'lab;touch /tmp/owned' true");
  });
});
