/**
 * Every relative link in the README and the manual must lead somewhere: the file (or folder) it
 * names exists, and a `#anchor` into a Markdown file names a heading that file has, slugged as
 * GitHub slugs it. Links inside code (fenced blocks, `inline`) are not links and are skipped;
 * absolute URLs are not checked here (no network in the tests).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT } from "./support/cli.js";

const DOCS = [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
  "bench/README.md",
  "test/README.md",
];

/** The lines that Markdown renders as text: lines of fenced code blocks become empty. */
function proseLines(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split("\n").map((line) => {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length) fence = undefined;
      return "";
    }
    if (opener) {
      fence = opener;
      return "";
    }
    return line;
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped (not `-` or `_`), each space a `-`. */
function slug(heading: string): string {
  const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a file's headings give, with GitHub's `-1`, `-2` suffixes for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

/** Inline links and images, `[text](target)` or `[text](target "title")`, outside code. */
function links(file: string, markdown: string): Link[] {
  return proseLines(markdown).flatMap((line, i) =>
    [...line.replace(/`[^`]*`/g, (code) => "x".repeat(code.length)).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({
      file,
      line: i + 1,
      target: m[1]!,
    })),
  );
}

/** What is wrong with a link, or undefined when it leads somewhere. */
function problem({ file, target }: Link, read: (file: string) => string | undefined): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const hash = target.indexOf("#");
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
  if (resolved.startsWith("../")) return `${target} leads out of the repository`;
  if (!existsSync(path.join(ROOT, resolved))) return `${resolved} does not exist`;
  if (anchor === undefined || !resolved.endsWith(".md")) return undefined;
  const markdown = read(resolved);
  if (markdown === undefined) return `${resolved} cannot be read`;
  return anchors(markdown).has(anchor) ? undefined : `${resolved} has no heading with the anchor #${anchor}`;
}

const read = (file: string) => {
  try {
    return readFileSync(path.join(ROOT, file), "utf8");
  } catch {
    return undefined;
  }
};

describe("links in the README and the manual", () => {
  test("the slug of a heading is GitHub's", () => {
    expect(slug("What happens when…")).toBe("what-happens-when");
    expect(slug("What `pulumi preview --diff` shows for the migrations")).toBe("what-pulumi-preview---diff-shows-for-the-migrations");
    expect(slug("2. Variables and secrets to set (Settings → Secrets and variables → Actions)")).toBe(
      "2-variables-and-secrets-to-set-settings--secrets-and-variables--actions",
    );
    expect(slug("`pulumi destroy`")).toBe("pulumi-destroy");
  });

  test("a broken path, a missing heading and a link out of the repository are each found", () => {
    const doc = "docs/example.md";
    const fake = (file: string) => (file === "docs/stacks.md" ? "# The stacks\n\n## Outputs\n\n```sh\n# not a heading\n```\n" : read(file));
    expect(problem({ file: doc, line: 1, target: "stacks.md#outputs" }, fake)).toBeUndefined();
    expect(problem({ file: doc, line: 1, target: "stacks.md#not-a-heading" }, fake)).toMatch(/no heading with the anchor #not-a-heading/);
    expect(problem({ file: doc, line: 1, target: "no-such-file.md" }, fake)).toMatch(/docs\/no-such-file\.md does not exist/);
    expect(problem({ file: doc, line: 1, target: "../../outside.md" }, fake)).toMatch(/out of the repository/);
    expect(problem({ file: doc, line: 1, target: "https://example.com/x.md#y" }, fake)).toBeUndefined();
    expect(links(doc, 'see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n![d](d.svg "title")').map((l) => l.target)).toEqual(["a.md", "d.svg"]);
  });

  test.each(DOCS)("%s: every relative link resolves", (file) => {
    const markdown = read(file);
    expect(markdown, `${file} is missing`).toBeDefined();
    const found = links(file, markdown!);
    const broken = found.flatMap((link) => {
      const why = problem(link, read);
      return why ? [`${link.file}:${link.line}: (${link.target}) ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  test("the README links to every document of the manual", () => {
    const targets = new Set(links("README.md", read("README.md")!).map((l) => l.target.split("#")[0]));
    for (const file of DOCS.filter((f) => f !== "README.md")) expect(targets.has(file), `README.md does not link ${file}`).toBe(true);
  });
});
