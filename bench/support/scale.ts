/**
 * BENCH_SCALE (0 < scale ≤ 1) shrinks every count and time limit for a quick trial; the numbers
 * written then say so, since they are not comparable with a full run.
 */
export function benchScale(): number {
  const raw = process.env.BENCH_SCALE;
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!(scale > 0 && scale <= 1)) throw new Error(`BENCH_SCALE must be a number in (0, 1], not '${raw}'`);
  return scale;
}
