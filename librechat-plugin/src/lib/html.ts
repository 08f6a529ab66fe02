import { WIDGET_PATH } from '@solaris/wire';

/** The one tag we add; the widget bundle loads its own CSS. */
export const WIDGET_TAG = `<script src="${WIDGET_PATH}" defer></script>`;

/**
 * Adds our widget `<script>` before `</head>`, once. LibreChat reads `client/dist/index.html` a single time at
 * start-up with `fs.readFileSync(indexPath, 'utf8')` and serves that string from its SPA fallback
 * (LibreChat api/server/index.js, `startServer`), so patching the read result reaches every page load
 * without touching LibreChat's files on disk.
 */
export function injectWidget(html: string): string {
  if (html.includes(`src="${WIDGET_PATH}"`)) return html;
  const at = html.search(/<\/head>/i);
  if (at < 0) return html; // not the page we expect: leave it alone
  return html.slice(0, at) + WIDGET_TAG + html.slice(at);
}

/** True for LibreChat's built SPA entry page (`<root>/client/dist/index.html`). */
export function isLibreChatIndexHtml(file: unknown): boolean {
  if (typeof file !== 'string') return false;
  return /[\\/]client[\\/]dist[\\/]index\.html$/.test(file);
}
