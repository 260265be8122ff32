import type { TcpCounters } from '@scaleup/core';

/** Parses /proc/net/netstat or /proc/net/snmp: pairs of header and value lines per protocol. */
export function parseProcNetCounters(text: string): Map<string, number> {
  const counters = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const header = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const protocol = header[0];
    if (protocol === undefined || protocol !== values[0]) continue;
    for (let k = 1; k < header.length; k++) {
      const value = Number(values[k]);
      if (Number.isFinite(value)) counters.set(`${protocol.replace(/:$/, '')}.${header[k]}`, value);
    }
  }
  return counters;
}

/** The counters that matter at thousands of connections, absolute since boot. */
export function tcpCountersFrom(netstat: string, snmp: string): TcpCounters {
  const all = new Map([...parseProcNetCounters(netstat), ...parseProcNetCounters(snmp)]);
  const get = (key: string) => all.get(key) ?? 0;
  return {
    listenOverflows: get('TcpExt.ListenOverflows'),
    listenDrops: get('TcpExt.ListenDrops'),
    resetsSent: get('Tcp.OutRsts'),
    resetsReceivedEstablished: get('Tcp.EstabResets'),
    connectionsAborted:
      get('TcpExt.TCPAbortOnData') +
      get('TcpExt.TCPAbortOnClose') +
      get('TcpExt.TCPAbortOnMemory') +
      get('TcpExt.TCPAbortOnTimeout') +
      get('TcpExt.TCPAbortOnLinger'),
    retransmittedSegments: get('Tcp.RetransSegs'),
  };
}

/** Counters over an interval; a counter that went backwards (namespace change) counts as 0. */
export function tcpCounterDelta(before: TcpCounters, after: TcpCounters): TcpCounters {
  const delta = {} as TcpCounters;
  for (const key of Object.keys(before) as (keyof TcpCounters)[]) {
    delta[key] = Math.max(0, after[key] - before[key]);
  }
  return delta;
}
