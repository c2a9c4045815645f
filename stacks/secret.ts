import { inspect } from "node:util";

/**
 * A secret from the stack configuration (a password). It prints as "[secret]" in messages,
 * JSON and template strings, so a validation message or a debug log cannot leak it;
 * `reveal()` is the one way to read it, used where it becomes a Pulumi secret.
 */
export class SecretText {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return "[secret]";
  }

  toJSON(): string {
    return "[secret]";
  }

  [inspect.custom](): string {
    return "[secret]";
  }
}
