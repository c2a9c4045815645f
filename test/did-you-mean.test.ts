/** The one suggestion helper behind "did you mean" for directives, CLI options and stack keys. */
import { expect, test } from "vitest";
import { didYouMean, editDistance } from "../migrator/did-you-mean.js";

test("edit distance counts insertions, deletions and substitutions, ignoring case", () => {
  expect(editDistance("instanceClas", "instanceClass")).toBe(1);
  expect(editDistance("no_transaction", "no-transaction")).toBe(1);
  expect(editDistance("lock-timout", "lock-timeout")).toBe(1);
  expect(editDistance("Multiaz", "multiAz")).toBe(0);
  expect(editDistance("", "abc")).toBe(3);
  expect(editDistance("kitten", "sitting")).toBe(3);
});

test("suggests the nearest name within the limit, the earlier one on a tie, nothing beyond it", () => {
  const known = ["port", "sort", "multiAz"];
  expect(didYouMean("pork", known, 2)).toBe("port");
  expect(didYouMean("xort", known, 2)).toBe("port");
  expect(didYouMean("MULTIAZ", known, 0)).toBe("multiAz");
  expect(didYouMean("multiAzzz", known, 1)).toBeUndefined();
  expect(didYouMean("multiAzzz", known, 2)).toBe("multiAz");
  expect(didYouMean("anything", [], 10)).toBeUndefined();
});
