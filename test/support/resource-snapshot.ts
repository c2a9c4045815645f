/**
 * What a preview compares: every resource's URN (type chain through its parents, and name), its
 * parent, protect flag, dependencies and inputs, and the stack outputs, as JSON that is the same
 * from one run to the next. Used to prove that a refactoring of infra/ changes nothing deployed.
 */
import { isSecretValue, ROOT, type ProgramRun } from "./pulumi.js";

export interface ResourceSnapshot {
  resources: {
    urn: string;
    parent: string;
    protect: boolean;
    dependencies: string[];
    inputs: unknown;
  }[];
  outputs: unknown;
}

/**
 * Secrets keep their (configured, so fixed) value under a marker, so a value that stops being
 * secret is a difference too; the checkout's absolute path becomes `<root>`. Keys are sorted.
 */
export function normalize(value: unknown): unknown {
  if (isSecretValue(value)) return { "<secret>": normalize(value.value) };
  if (typeof value === "string") return value.split(ROOT).join("<root>");
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalize((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Resources in URN order: the order of registration is not part of what a preview compares. */
export function resourceSnapshot(run: ProgramRun): ResourceSnapshot {
  return {
    resources: run.resources
      .map((r) => ({
        urn: r.urn,
        parent: r.parent,
        protect: r.protect,
        dependencies: [...r.dependencies].sort(),
        inputs: normalize(r.inputs),
      }))
      .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0)),
    outputs: normalize(run.exports),
  };
}
