import { readFile } from 'node:fs/promises';
import type { TcpCounters } from '@scaleup/core';
import { tcpCountersFrom } from './kernel.ts';

/** Reads the kernel's TCP counters for this network namespace; null where /proc is not Linux's. */
export async function readTcpCounters(): Promise<TcpCounters | null> {
  try {
    const [netstat, snmp] = await Promise.all([
      readFile('/proc/net/netstat', 'utf8'),
      readFile('/proc/net/snmp', 'utf8'),
    ]);
    return tcpCountersFrom(netstat, snmp);
  } catch {
    return null;
  }
}
