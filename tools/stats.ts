// Summary figures of a benchmark's samples: the lowest, the middle (the lower of two), the 90th
// percentile and the highest, each an actual sample.
export function stats(xs: number[]): { min: number; median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return { min: s[0], median: q(0.5), p90: q(0.9), max: s[s.length - 1] };
}
