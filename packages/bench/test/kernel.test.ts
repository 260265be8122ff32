import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcNetCounters, tcpCounterDelta, tcpCountersFrom } from '../src/kernel.ts';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');

describe('kernel TCP counters', () => {
  it('parses header/value line pairs by protocol', () => {
    const counters = parseProcNetCounters('Tcp: A B C\nTcp: 1 2 3\nUdp: A\nUdp: 9\n');
    expect(counters.get('Tcp.B')).toBe(2);
    expect(counters.get('Udp.A')).toBe(9);
  });

  it('reads the counters that matter from real /proc captures', () => {
    const netstat = fixture('proc-net-netstat.txt');
    const snmp = fixture('proc-net-snmp.txt');
    const counters = tcpCountersFrom(netstat, snmp);
    const all = new Map([...parseProcNetCounters(netstat), ...parseProcNetCounters(snmp)]);
    expect(counters.listenOverflows).toBe(all.get('TcpExt.ListenOverflows'));
    expect(counters.resetsSent).toBe(all.get('Tcp.OutRsts'));
    expect(counters.retransmittedSegments).toBe(all.get('Tcp.RetransSegs'));
    expect(Object.values(counters).every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
  });

  it('takes deltas and never goes negative', () => {
    const zero = {
      listenOverflows: 0,
      listenDrops: 0,
      resetsSent: 0,
      resetsReceivedEstablished: 0,
      connectionsAborted: 0,
      retransmittedSegments: 0,
    };
    expect(
      tcpCounterDelta({ ...zero, listenOverflows: 5 }, { ...zero, listenOverflows: 8, resetsSent: 2 }),
    ).toEqual({
      ...zero,
      listenOverflows: 3,
      resetsSent: 2,
    });
    expect(tcpCounterDelta({ ...zero, listenDrops: 9 }, zero).listenDrops).toBe(0);
  });
});
