/** The report page: the evidence rendered through the template, every value HTML-escaped by Eta. */
import { Eta } from "eta";
import type { Evidence } from "./evidence.js";
import { PAGE_TEMPLATE } from "./page-template.js";

// autoEscape is Eta's default; said here because the page's safety rests on it.
const eta = new Eta({ autoEscape: true, autoTrim: [false, "nl"] });

export function renderPage(evidence: Evidence, evidenceSha256: string): string {
  return eta.renderString(PAGE_TEMPLATE, { e: evidence, evidenceSha256 });
}
