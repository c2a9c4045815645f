/**
 * Removes passwords from any text before it is printed: the password part of
 * connection URLs, `password=...` key/value pairs, and any literal secret we know of.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
    // postgres://user:secret@host -> postgres://user:***@host
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s]*)@/gi, "$1***@")
    // password=secret (libpq key/value strings and query parameters)
    .replace(/(\bpassword\s*=\s*)('[^']*'|[^\s&;]+)/gi, "$1***");
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("***");
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && encoded.length >= 4) out = out.split(encoded).join("***");
  }
  return out;
}
