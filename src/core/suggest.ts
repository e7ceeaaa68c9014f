/** ` (did you mean "rpi4"?)` when one valid choice is close to what was typed, else ''. */
export function didYouMean(typed: string, choices: readonly string[]): string {
  const ranked = choices
    .map((choice) => ({ choice, distance: editDistance(typed.toLowerCase(), choice.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance);
  const best = ranked[0];
  if (!best) return '';
  const closeEnough = best.distance <= Math.max(1, Math.floor(best.choice.length / 3));
  return closeEnough ? ` (did you mean "${best.choice}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
