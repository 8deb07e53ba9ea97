/** "Did you mean" suggestions for every place that refuses an unknown name (task ids, entry-point groups, configuration keys). */

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** Up to 3 known names near `name` (by edit distance on the whole name or the part after its first `:`, or containment). */
export function closestNames(name: string, known: string[]): string[] {
  const lower = name.toLowerCase();
  const scored = known.map((id) => {
    const cls = id.slice(id.indexOf(":") + 1).toLowerCase();
    const d = Math.min(editDistance(lower, id.toLowerCase()), editDistance(lower, cls));
    const contains = id.toLowerCase().includes(lower) || lower.includes(cls);
    return { id, d: contains ? 0 : d };
  });
  const limit = Math.max(2, Math.floor(name.length / 3));
  return scored
    .filter((s) => s.d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map((s) => s.id);
}
