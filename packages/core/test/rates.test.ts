import { describe, expect, it } from 'vitest';
import { parseRateStep, parseSlo } from '../src/rates.ts';

describe('rate steps', () => {
  it('reads shares of capacity and absolute rates', () => {
    expect(parseRateStep('75%')).toEqual({ kind: 'fraction', fraction: 0.75, text: '75%' });
    expect(parseRateStep('12.5%')).toEqual({ kind: 'fraction', fraction: 0.125, text: '12.5%' });
    expect(parseRateStep('20000')).toEqual({ kind: 'absolute', perSecond: 20000, text: '20000' });
    expect(parseRateStep(40000)).toEqual({ kind: 'absolute', perSecond: 40000, text: '40000' });
    expect(parseRateStep('20k')).toEqual({ kind: 'absolute', perSecond: 20000, text: '20000' });
  });

  it('names what is wrong with a step', () => {
    for (const bad of ['0%', '0', '-5', 'fast', '75 %x', '2000%', '']) {
      const parsed = parseRateStep(bad);
      expect(parsed).toHaveProperty('problem');
      expect((parsed as { problem: string }).problem).toContain('rate');
    }
  });
});

describe('latency objectives', () => {
  it('reads a percentile and a bound with its unit, and writes it back the same way', () => {
    expect(parseSlo('p99=10ms')).toEqual({ text: 'p99=10ms', percentile: 99, boundMicros: 10_000 });
    expect(parseSlo('p99.9=500us')).toEqual({ text: 'p99.9=500us', percentile: 99.9, boundMicros: 500 });
    expect(parseSlo('P50=1s')).toEqual({ text: 'p50=1s', percentile: 50, boundMicros: 1_000_000 });
    expect(parseSlo('max=2500ms')).toEqual({ text: 'max=2500ms', percentile: 100, boundMicros: 2_500_000 });
    expect(parseSlo('p100=1ms')).toEqual({ text: 'max=1ms', percentile: 100, boundMicros: 1000 });
    expect(parseSlo('p99=0.5ms')).toEqual({ text: 'p99=500us', percentile: 99, boundMicros: 500 });
  });

  it('refuses what it cannot read, saying how to write it', () => {
    for (const bad of ['p99<10ms', 'p99=10', 'p0=1ms', 'p101=1ms', 'p99=0.1us', '99=10ms', 'p99=10min']) {
      const parsed = parseSlo(bad);
      expect(parsed, bad).toHaveProperty('problem');
    }
    expect((parseSlo('p99<10ms') as { problem: string }).problem).toContain('p99=10ms');
  });
});
