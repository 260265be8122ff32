/**
 * A coarse shared clock for the hot path. Formatting a Date per response costs more than the rest
 * of a small response, so the Date header is rebuilt once a second and responses that embed it
 * are rebuilt when `version` moves.
 */
export interface Clock {
  /** Milliseconds since the epoch, refreshed every tick (good enough for timeouts). */
  now: number;
  /** The current `Date: ...\r\n` header line. */
  dateLine: string;
  /** Bumped whenever `dateLine` changes. */
  version: number;
}

export const clock: Clock = { now: Date.now(), dateLine: dateLine(Date.now()), version: 1 };

let lastSecond = Math.floor(clock.now / 1000);
let timer: NodeJS.Timeout | undefined;

function dateLine(ms: number): string {
  return `Date: ${new Date(ms).toUTCString()}\r\n`;
}

/** Brings the clock up to date; the ticker calls it, tests may too. */
export function tickClock(ms = Date.now()): void {
  clock.now = ms;
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    clock.dateLine = dateLine(ms);
    clock.version++;
  }
}

/** Starts the ticker (idempotent). It never keeps the process alive by itself. */
export function startClock(periodMs = 100): void {
  if (timer !== undefined) return;
  tickClock();
  timer = setInterval(tickClock, periodMs);
  timer.unref();
}

export function stopClock(): void {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
}

/** RFC 9110 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
