/**
 * Two import boundaries, each checked on the import specifiers of every file as the TypeScript
 * parser reads them (not a text search that a comment could fool), in every subfolder:
 * - the migrator engine (migrator/) stands on its own: the CLI, `npm start` and the stacks'
 *   commands run it without Pulumi, so nothing in it may import @pulumi/* or any file outside
 *   migrator/ (not infra/, stacks/, bin/, audit/ or review/);
 * - the migration review (review/) reads a preview and the engine: it may import migrator/ and
 *   the program's resource names (infra/resource-names.ts), and nothing else of the program or
 *   the stack readers, nor @pulumi/* (its bundle must not load Pulumi).
 * eslint.config.js states the same rules for the editor; this test is the one CI relies on.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import ts from "typescript";
import { expect, test } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const ENGINE = path.join(ROOT, "migrator");
const REVIEW = path.join(ROOT, "review");
const REVIEW_MAY_IMPORT = [ENGINE, path.join(ROOT, "infra", "resource-names.ts")];

/** Every module specifier a file imports or re-exports, statically or with import(). */
function specifiers(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const within = (target: string, place: string) => target === place || target.startsWith(place + path.sep);

/** Where a relative specifier of `fromFile` lands, as a .ts path. */
function resolved(fromFile: string, specifier: string): string {
  return path.resolve(path.dirname(fromFile), specifier).replace(/\.js$/, ".ts");
}

/** Why a specifier is out of bounds for the engine, or undefined when it is fine. */
function engineOutOfBounds(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith("@pulumi/")) return "a Pulumi package";
  if (!specifier.startsWith(".")) return undefined;
  const target = resolved(fromFile, specifier);
  return within(target, ENGINE) ? undefined : `outside migrator/ (${path.relative(ROOT, target)})`;
}

/** Why a specifier is out of bounds for the review, or undefined when it is fine. */
function reviewOutOfBounds(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith("@pulumi/")) return "a Pulumi package";
  if (!specifier.startsWith(".")) return undefined;
  const target = resolved(fromFile, specifier);
  if (within(target, REVIEW) || REVIEW_MAY_IMPORT.some((allowed) => within(target, allowed))) return undefined;
  return `neither review/, migrator/ nor infra/resource-names.ts (${path.relative(ROOT, target)})`;
}

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => path.join(e.parentPath, e.name));
}

async function violations(dir: string, outOfBounds: (file: string, spec: string) => string | undefined): Promise<{ files: number; found: string[] }> {
  const files = await tsFiles(dir);
  const found: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(file, await readFile(file, "utf8"))) {
      const why = outOfBounds(file, spec);
      if (why) found.push(`${path.relative(ROOT, file)} imports "${spec}": ${why}`);
    }
  }
  return { files: files.length, found };
}

test("nothing in migrator/, subfolders included, imports @pulumi/* or a file outside migrator/", async () => {
  const { files, found } = await violations(ENGINE, engineOutOfBounds);
  expect(files).toBeGreaterThan(20);
  expect(found).toEqual([]);
});

test("review/ imports only migrator/ and infra/resource-names.ts of the project, and no @pulumi/*", async () => {
  const { files, found } = await violations(REVIEW, reviewOutOfBounds);
  expect(files).toBeGreaterThanOrEqual(4);
  expect(found).toEqual([]);
});

test("the checks see each kind of forbidden import, in a subfolder too", async () => {
  const file = path.join(ENGINE, "apply.ts");
  const nested = path.join(ENGINE, "embedded", "server.ts");
  expect(engineOutOfBounds(file, "@pulumi/pulumi")).toBe("a Pulumi package");
  expect(engineOutOfBounds(file, "../index.js")).toMatch(/outside migrator\//);
  expect(engineOutOfBounds(file, "../bin/exit.js")).toMatch(/outside migrator\//);
  expect(engineOutOfBounds(file, "../review/review.js")).toMatch(/outside migrator\//);
  expect(engineOutOfBounds(nested, "../../stacks/index.js")).toMatch(/outside migrator\//);
  expect(engineOutOfBounds(nested, "../connection.js")).toBeUndefined();
  expect(engineOutOfBounds(file, "./plan.js")).toBeUndefined();
  expect(engineOutOfBounds(file, "pg")).toBeUndefined();
  const review = path.join(REVIEW, "review.ts");
  expect(reviewOutOfBounds(review, "../migrator/plan.js")).toBeUndefined();
  expect(reviewOutOfBounds(review, "../infra/resource-names.js")).toBeUndefined();
  expect(reviewOutOfBounds(review, "./preview.js")).toBeUndefined();
  expect(reviewOutOfBounds(review, "../infra/migrations.js")).toMatch(/neither/);
  expect(reviewOutOfBounds(review, "../stacks/index.js")).toMatch(/neither/);
  expect(reviewOutOfBounds(review, "@pulumi/pulumi")).toBe("a Pulumi package");
  expect(specifiers("x.ts", 'import a from "./a.js"; export { b } from "../b.js"; const c = await import("@pulumi/x");')).toEqual(["./a.js", "../b.js", "@pulumi/x"]);
  expect((await tsFiles(ENGINE)).some((f) => f.includes(`${path.sep}embedded${path.sep}`))).toBe(true);
});
