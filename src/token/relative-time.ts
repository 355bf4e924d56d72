// Times as people read them: "in 3m12s", "2h5m ago". Tokens fail on time more than on anything
// else (expired, not yet valid, a refresh scheduled after expiry), so every time a command
// prints comes with its distance from now.

/** A duration in the largest two units: 45s, 3m12s, 2h5m, 4d3h. */
export function formatDuration(ms: number): string {
  const total = Math.round(Math.abs(ms) / 1000);
  if (total < 60) return `${total}s`;
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ];
  const first = units.findIndex(([, size]) => total >= size);
  const [bigName, bigSize] = units[first] ?? ["s", 1];
  const [smallName, smallSize] = units[first + 1] ?? ["s", 1];
  const big = Math.floor(total / bigSize);
  const small = Math.floor((total - big * bigSize) / smallSize);
  return small === 0 ? `${big}${bigName}` : `${big}${bigName}${small}${smallName}`;
}

/** `at` relative to `now`: "in 3m12s", "3m12s ago" or "now" (within a second). */
export function formatRelative(at: number, now: number): string {
  const delta = at - now;
  if (Math.abs(delta) < 1000) return "now";
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(delta)} ago`;
}
