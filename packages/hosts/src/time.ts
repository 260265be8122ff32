/**
 * Waits that hold the event loop while someone awaits them, and let go the moment they are
 * settled: an unref'd timer lets a CLI whose only pending work is this wait exit mid-way (with
 * code 13, "unsettled top-level await"), and a plain race leaves its timer running long after.
 */

/** `promise`, or 'late' once `ms` have passed, whichever comes first. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A pause in a polling loop. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
