/**
 * The report page in a real browser: headless Chromium from npm (`@sparticuz/chromium`, see
 * test/support/chromium.ts; never a browser installed on the machine), driven by playwright-core, opens
 * the page written from prod-shaped outputs (the prod program under mocks) at desktop size and as
 * printed on A4. It checks the DOM (every control and every ledger row, the failed check marked,
 * the hostile ledger name shown as text and never run) and keeps the screenshots and the PDF in
 * test/artifacts/audit/ (git-ignored) for a person to look at.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runAudit } from "../audit/cli.js";
import { DRIFT_LINE, FAILED_CHECK, HOSTILE_NAME, prodOutputs, SNAPSHOT_SHA256 } from "./support/audit-outputs.js";
import { launchNpmChromium, PACKAGE_VERSION } from "./support/chromium.js";
import { ROOT } from "./support/pulumi.js";

const ARTIFACTS = path.join(ROOT, "test/artifacts/audit");
const REPORT = path.join(ARTIFACTS, "prod");

let outputs: Record<string, unknown>;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  outputs = await prodOutputs();
  await rm(ARTIFACTS, { recursive: true, force: true });
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, "prod-outputs.json");
  await writeFile(file, JSON.stringify(outputs, null, 2));
  const code = await runAudit(["--from", file, "--stack", "prod", "--out", REPORT], {
    stdout: () => {},
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: ROOT,
  });
  expect(code).toBe(0);
  browser = await launchNpmChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url());
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(pathToFileURL(path.join(REPORT, "index.html")).href);
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

describe("the report page in Chromium", () => {
  test("the browser is the one @sparticuz/chromium ships (its major is the package's)", () => {
    expect(browser.version().split(".")[0]).toBe(PACKAGE_VERSION.split(".")[0]);
  });

  test("every control of the prod stack is a row, with its status; unmet ones are marked", async () => {
    const expected = (outputs.controls as { controls: { id: string; status: string }[] }).controls;
    const rows = await page.$$eval("tr[data-control]", (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute("data-control"),
        status: tr.getAttribute("data-status"),
        cls: tr.className,
        badge: tr.querySelector(".badge")?.textContent?.trim(),
      })),
    );
    expect(rows.map((r) => [r.id, r.status])).toEqual(expected.map((c) => [c.id, c.status]));
    const unmet = rows.find((r) => r.id === "RDS.26")!;
    expect(unmet).toMatchObject({ cls: "row-not-met", badge: "✗ not met" });
    // Marked in colour too: the unmet row's background is not the met rows'.
    const background = (id: string) => page.$eval(`tr[data-control="${id}"] td`, (td) => getComputedStyle(td).backgroundColor);
    expect(await background("RDS.26")).not.toBe(await background("RDS.2"));
  });

  test("every ledger row is there, the <script> name shown as text and never run", async () => {
    const applied = (outputs.migrations as { applied: { version: string }[] }).applied;
    const versions = await page.$$eval("tr[data-migration]", (trs) => trs.map((tr) => tr.getAttribute("data-migration")));
    expect(versions).toEqual(applied.map((m) => m.version));
    expect(await page.textContent('tr[data-migration="20990101000000"] td:nth-child(2)')).toBe(HOSTILE_NAME);
    expect(await page.title()).toBe("Audit evidence: stack prod");
    expect(await page.$$("script, img")).toHaveLength(0);
    expect(pageErrors).toEqual([]);
  });

  test("a failed check is visibly marked, with its evidence", async () => {
    const row = page.locator(`tr[data-check="${FAILED_CHECK}"]`);
    expect(await row.getAttribute("data-ok")).toBe("false");
    expect((await row.locator(".badge").textContent())?.trim()).toBe("✗ FAILED");
    expect(await row.evaluate((tr) => getComputedStyle(tr.querySelector("td")!).backgroundColor)).toBe("rgb(253, 228, 228)");
    expect(await page.textContent('[data-field="checks-summary"]')).toBe("2 passed, 1 failed");
  });

  test("the drift section: the difference shown as text and marked, the snapshot's sha256 and head", async () => {
    expect(await page.textContent("#drift h2")).toBe("Schema drift");
    expect((await page.textContent('[data-field="drift-status"]'))?.trim()).toBe("✗ DRIFTED");
    expect(await page.textContent('[data-field="drift-snapshot-sha256"]')).toBe(SNAPSHOT_SHA256);
    expect(await page.textContent('[data-field="drift-head"]')).toBe("20260123015834_add_points_trigger");
    const rows = page.locator("#drift tr[data-drift]");
    expect(await rows.count()).toBe(1);
    expect(await rows.locator("td:nth-child(3)").textContent()).toBe(DRIFT_LINE);
    expect(await page.$$("#drift i")).toHaveLength(0);
    expect(await rows.evaluate((tr) => getComputedStyle(tr.querySelector("td")!).backgroundColor)).toBe("rgb(253, 228, 228)");
    expect(await page.textContent('[data-field="drift-summary"]')).toBe("1 drifted");
  });

  test("the header: stack, endpoint, engine, commit, TLS facts; nothing fetched from the network", async () => {
    expect(await page.textContent('[data-field="endpoint"]')).toBe("pg-migrations-prod.c0ffee.eu-west-1.rds.amazonaws.com:5433");
    expect(await page.textContent('[data-field="engine"]')).toBe("postgres 17.6");
    expect(await page.textContent('[data-field="commit"]')).toMatch(/^[0-9a-f]{40}$/);
    expect(await page.textContent('[data-field="tls-encrypted"]')).toBe("yes");
    expect(await page.textContent("#limits h2")).toBe("What this report does not prove");
    expect(requests).toEqual([]);
  });

  test("desktop: no horizontal scrolling; the screenshot is kept", async () => {
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "desktop.png"), fullPage: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "desktop-top.png") });
  });

  test("print: A4 pages, tables within the page width; the PDF and a print-media screenshot are kept", async () => {
    await page.emulateMedia({ media: "print" });
    // A4 is 210 mm; less the 11 mm margins each side, at 96 px per inch.
    const printable = ((210 - 22) / 25.4) * 96;
    await page.setViewportSize({ width: Math.floor(printable), height: 1000 });
    const widest = await page.$$eval("table", (tables) => Math.max(...tables.map((t) => t.getBoundingClientRect().width)));
    expect(widest).toBeLessThanOrEqual(Math.ceil(printable));
    await page.screenshot({ path: path.join(ARTIFACTS, "print.png"), fullPage: true });
    const pdf = await page.pdf({ path: path.join(ARTIFACTS, "report.pdf"), format: "A4", preferCSSPageSize: true, printBackground: true });
    const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pages).toBeGreaterThan(1);
    expect(pages).toBeLessThan(12);
    await page.emulateMedia({ media: "screen" });
  });
});
