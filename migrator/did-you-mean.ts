/**
 * Suggestions for a misspelt name: a migration directive, a CLI option, a stack configuration
 * key. One helper for all three, so they agree on what counts as a typo. It lives in migrator/
 * because the engine may import nothing outside its folder, while stacks/ may import the engine.
 */

/** Levenshtein distance, ignoring case: `Multiaz` is a typo of `multiAz`, not four edits away. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const row = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (x[i - 1] === y[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[y.length]!;
}

/**
 * The known name nearest to `given`, when it is at most `maxEdits` edits away; undefined when
 * none is that close (a wild guess misleads more than no guess). Ties go to the earlier name.
 */
export function didYouMean(given: string, known: readonly string[], maxEdits: number): string | undefined {
  let best: { name: string; edits: number } | undefined;
  for (const name of known) {
    const edits = editDistance(given, name);
    if (!best || edits < best.edits) best = { name, edits };
  }
  return best && best.edits <= maxEdits ? best.name : undefined;
}
