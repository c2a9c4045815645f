/**
 * The floor of `pulumi up` without a TypeScript loader (bench/pulumi-up.ts): bench/floor's empty
 * program as plain JavaScript, loaded as the project's program now is (infra/program.mjs, no tsx).
 * The difference between the two floors is what tsx costs an `up`.
 */
import * as pulumi from "@pulumi/pulumi";

export const stack = pulumi.getStack();
