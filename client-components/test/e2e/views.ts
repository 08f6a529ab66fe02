/**
 * What the view tests check on every widget view, at every width: it is on screen (no part drawn outside
 * the viewport), nothing scrolls sideways, axe-core finds no serious or critical issue. Screenshots go
 * to test-artifacts/screenshots/<width>/ (gitignored), printed once per run.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { ARTIFACTS } from './harness';

export const SCREENSHOTS = join(ARTIFACTS, 'screenshots');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface Viewport {
  width: number;
  height: number;
  /** Phone emulation (meta viewport honoured, touch): what "opens off-screen on a phone" needs. */
  mobile: boolean;
}
export const VIEWPORTS: Viewport[] = [
  { width: 360, height: 740, mobile: true },
  { width: 768, height: 1024, mobile: true },
  { width: 1280, height: 800, mobile: false },
];

export async function shot(page: Page, vp: Viewport, name: string): Promise<string> {
  const dir = join(SCREENSHOTS, String(vp.width));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The element's box against the visual viewport; fails with the numbers when any edge is outside. */
export async function expectOnScreen(page: Page, el: Locator, what: string): Promise<Box> {
  const box = await el.boundingBox();
  const vw = await page.evaluate(() => ({ w: window.visualViewport?.width ?? innerWidth, h: window.visualViewport?.height ?? innerHeight }));
  expect(box, `${what}: no box`).not.toBeNull();
  const b = box!;
  const msg = `${what} at x=${b.x.toFixed(0)} y=${b.y.toFixed(0)} w=${b.width.toFixed(0)} h=${b.height.toFixed(0)}, viewport ${vw.w}×${vw.h}`;
  expect(b.x >= -0.5 && b.y >= -0.5 && b.x + b.width <= vw.w + 0.5 && b.y + b.height <= vw.h + 0.5, msg).toBe(true);
  return b;
}

/** Neither the page nor the element (a dialog) scrolls sideways. */
export async function expectNoSidewaysScroll(page: Page, el?: Locator, what = 'page'): Promise<void> {
  const doc = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  expect(doc.sw, `page scrolls sideways (${doc.sw} > ${doc.cw})`).toBeLessThanOrEqual(doc.cw);
  if (el) {
    const inner = await el.evaluate((n) => {
      // the widest thing inside that sticks out of the element's right edge (a hidden, scrolling wide table counts too)
      const right = n.getBoundingClientRect().right;
      let worst = 0;
      let who = '';
      for (const c of Array.from(n.querySelectorAll('*'))) {
        if (c.closest('.sol-sr-only')) continue;
        const r = c.getBoundingClientRect();
        if (r.width > 0 && r.right - right > worst) {
          worst = r.right - right;
          who = `${c.tagName.toLowerCase()}.${(c as HTMLElement).className}`;
        }
      }
      return { sw: n.scrollWidth, cw: n.clientWidth, worst, who };
    });
    expect(inner.sw, `${what} scrolls sideways (${inner.sw} > ${inner.cw})`).toBeLessThanOrEqual(inner.cw + 1);
    expect(inner.worst, `${what}: ${inner.who} sticks out by ${inner.worst}px`).toBeLessThanOrEqual(1);
  }
}

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** axe-core over the widget's two shadow hosts (dock + dialogs layer); serious and critical findings only. */
export async function axeSerious(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const include = ['#solaris-dock', '#solaris-layer'].filter((s) => document.querySelector(s));
    const r = await axe.run({ include: include.map((s) => [s]) }, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
}
