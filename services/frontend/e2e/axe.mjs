/**
 * The accessibility audit: axe-core's own source injected into the page under test and run
 * in the real browser. Serious and critical violations fail; the rest are printed.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const FAILING = new Set(["serious", "critical"]);

/** The violations axe finds on the page as it is now; throws on a serious or critical one. */
export async function auditPage(page, name) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) {
    await page.addScriptTag({ content: AXE_SOURCE });
  }
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
  const failing = violations.filter((v) => FAILING.has(v.impact));
  for (const v of violations) {
    const mark = FAILING.has(v.impact) ? "FAIL" : "note";
    console.log(`  axe ${mark} [${name}] ${v.impact} ${v.id}: ${v.help} — ${v.targets.join(", ")}`);
  }
  if (failing.length) throw new Error(`axe: ${failing.length} serious or critical violation(s) on ${name}: ${failing.map((v) => v.id).join(", ")}`);
  return violations;
}
