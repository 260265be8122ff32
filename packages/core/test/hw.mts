import { readFileSync } from 'node:fs';
import { parseResults, relativeHalfWidth } from '/work/main/packages/core/src/index.ts';

for (const dir of process.argv.slice(2)) {
  try {
    const r = parseResults(readFileSync(`${dir}/results.json`, 'utf8'));
    const parts = r.scenarios
      .filter((s) => !s.baseline && s.summary?.ratioToBaseline)
      .map((s) => {
        const q = s.summary!.ratioToBaseline!;
        return `${s.id} ${q.ratio.toFixed(3)} ±${(100 * relativeHalfWidth(q, q.ratio)).toFixed(1)}% @${(100 * q.confidence).toFixed(1)}% n=${q.n}`;
      });
    const dur = (Date.parse(r.run.finishedAt!) - Date.parse(r.run.startedAt)) / 1000;
    console.log(`${dir}: ${dur.toFixed(0)} s; ${parts.join('; ')}`);
  } catch (e) {
    console.log(dir, String(e).slice(0, 100));
  }
}
