import { isIP } from 'node:net';
import { type LoadSpec, type LoadSpecInput, LoadSpecSchema, UsageError } from '@scaleup/core';

/** This machine's loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** 198.18.0.0/15, set aside for benchmark networks (RFC 2544): lab and test-namespace hosts. */
export function isBenchmarkNetworkHost(hostname: string): boolean {
  if (isIP(hostname) !== 4) return false;
  const [first, second] = hostname.split('.').map(Number);
  return first === 198 && (second === 18 || second === 19);
}

/**
 * Hosts a load may target: loopback, the benchmark range, and addresses the user named as a
 * server host. Anything else would turn a benchmark tool into a flood against someone else's
 * server, so the driver refuses it outright.
 */
export function isAllowedTarget(hostname: string, allowed: readonly string[] = []): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    isLoopbackHost(host) || isBenchmarkNetworkHost(host) || allowed.some((a) => a.toLowerCase() === host)
  );
}

/**
 * Every reason `raw` cannot run, in words, one per problem (empty when it can). Tool-specific
 * limits (wrk has no request-count mode...) are the adapters' `refuse()`.
 */
export function loadSpecProblems(raw: LoadSpecInput): string[] {
  const parsed = LoadSpecSchema.safeParse(raw);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => `${issue.path.join('.') || 'spec'}: ${issue.message}`);
  }
  const spec = parsed.data;
  const problems: string[] = [];
  const hasRequests = spec.requests !== undefined;
  const hasDuration = spec.durationSeconds !== undefined;
  if (hasRequests === hasDuration) {
    problems.push('give exactly one of a request count (-n) or a duration (-d)');
  }
  if (spec.connections < spec.threads) {
    problems.push(
      `fewer connections (${spec.connections}) than threads (${spec.threads}): every thread needs one`,
    );
  }
  if (spec.requests !== undefined && spec.requests < spec.connections) {
    problems.push(`fewer requests (${spec.requests}) than connections (${spec.connections})`);
  }
  if (spec.durationSeconds !== undefined && spec.durationSeconds >= spec.timeoutSeconds) {
    problems.push(
      `the duration (${spec.durationSeconds} s) must be shorter than the time bound (timeout ${spec.timeoutSeconds} s)`,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(spec.url);
  } catch {
    problems.push(`not a URL: '${spec.url}'`);
  }
  if (url !== undefined) {
    if (url.protocol !== 'http:') problems.push(`only http:// URLs can be loaded, got '${spec.url}'`);
    else if (!isAllowedTarget(url.hostname, spec.allowedTargets)) {
      problems.push(
        `only loopback (127.0.0.0/8, ::1, localhost), the benchmark network 198.18.0.0/15 or a --server-host you named can be loaded, got '${url.hostname}'`,
      );
    }
  }
  for (const [name, value] of Object.entries(spec.headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(value)) {
      problems.push(`invalid header '${name}: ${value}'`);
    }
  }
  return problems;
}

/** A spec that can run, or a UsageError whose one line lists every problem. */
export function validateLoadSpec(raw: LoadSpecInput): LoadSpec {
  const problems = loadSpecProblems(raw);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return LoadSpecSchema.parse(raw);
}
