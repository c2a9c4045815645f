/**
 * The floor of `pulumi up` (bench/pulumi-up.ts): a TypeScript program that loads @pulumi/pulumi
 * through the same tsx loader as the stacks' program and registers nothing but its stack. What an
 * `up` of the local stack costs above this is the project's own.
 */
import * as pulumi from "@pulumi/pulumi";

export const stack = pulumi.getStack();
