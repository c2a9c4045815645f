/**
 * The migrator engine (migrator/) stands on its own: the CLI, `npm start` and the stacks'
 * commands run it without Pulumi, so nothing in it may import @pulumi/*, the Pulumi program
 * (infra/) or the stack settings (stacks/). Checked on the import specifiers of every file, as
 * the TypeScript parser reads them (not a text search that a comment could fool).
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import ts from "typescript";
import { expect, test } from "vitest";

const ENGINE = path.resolve(import.meta.dirname, "..", "migrator");

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

/** Why a specifier is out of bounds for the engine, or undefined when it is fine. */
function outOfBounds(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith("@pulumi/")) return "a Pulumi package";
  if (!specifier.startsWith(".")) return undefined;
  const target = path.resolve(path.dirname(fromFile), specifier);
  return target === ENGINE || target.startsWith(ENGINE + path.sep) ? undefined : `outside migrator/ (${path.relative(path.dirname(ENGINE), target)})`;
}

test("nothing in migrator/ imports @pulumi/*, infra/ or stacks/", async () => {
  const files = (await readdir(ENGINE)).filter((f) => f.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(10);
  const violations: string[] = [];
  for (const name of files) {
    const file = path.join(ENGINE, name);
    for (const spec of specifiers(file, await readFile(file, "utf8"))) {
      const why = outOfBounds(file, spec);
      if (why) violations.push(`migrator/${name} imports "${spec}": ${why}`);
    }
  }
  expect(violations).toEqual([]);
});

test("the check itself sees each kind of forbidden import", () => {
  const file = path.join(ENGINE, "apply.ts");
  expect(outOfBounds(file, "@pulumi/pulumi")).toBe("a Pulumi package");
  expect(outOfBounds(file, "../index.js")).toMatch(/outside migrator\//);
  expect(outOfBounds(file, "../../stacks/index.js")).toMatch(/outside migrator\//);
  expect(outOfBounds(file, "./plan.js")).toBeUndefined();
  expect(outOfBounds(file, "pg")).toBeUndefined();
  expect(specifiers("x.ts", 'import a from "./a.js"; export { b } from "../b.js"; const c = await import("@pulumi/x");')).toEqual(["./a.js", "../b.js", "@pulumi/x"]);
});
