import type pg from "pg";

/**
 * node-postgres, loaded on first use (`--help` and a usage error never pay for it).
 *
 * On load, pg asks whether it runs on Cloudflare Workers: through `navigator.userAgent` where the
 * runtime has a navigator (Node 21 and later), otherwise by constructing a fetch `Response`, which
 * on Node 20 loads Node's whole fetch implementation: about 35 ms of a 70 ms start. Where Node has
 * no navigator, one with Node 21's userAgent is defined first, so pg takes the cheap path.
 */
export async function loadPg(): Promise<typeof pg> {
  if (typeof (globalThis as { navigator?: unknown }).navigator === "undefined") {
    Object.defineProperty(globalThis, "navigator", {
      value: { userAgent: `Node.js/${process.versions.node.split(".")[0]}` },
      configurable: true,
      writable: true,
    });
  }
  return (await import("pg")).default;
}
