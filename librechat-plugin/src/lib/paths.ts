/**
 * Which requests the gate looks at. Express matches routes case-insensitively, ignores a trailing slash,
 * and LibreChat's chat route takes one free path segment (`POST /api/agents/chat/:endpoint`, LibreChat
 * api/server/routes/agents/chat.js), so `/API/agents/Chat/X/`, `/api/agents/chat/./X` and
 * `/api/agents/chat/X;y` all reach the chat controller. We normalise the path the same way (and a bit more:
 * percent-decoding, `..`, duplicate slashes) before matching: gating a path that would have 404'd is
 * harmless, missing one that reaches the model is not.
 */

/** Default gated routes (LibreChat v0.8.7+): `*` is exactly one path segment. */
export const DEFAULT_GATED_PATHS = [
  '/api/agents/chat',
  '/api/agents/chat/*', // :endpoint and /resume (LibreChat api/server/routes/agents/chat.js)
  '/api/agents/v1/chat/completions', // LibreChat api/server/routes/agents/openai.js
  '/api/agents/v1/responses', // LibreChat api/server/routes/agents/responses.js
  '/api/assistants/v1/chat',
  '/api/assistants/v2/chat',
];

/** Never gated even if a pattern matches: stopping a generation must always work, also for a blocked user. */
export const DEFAULT_UNGATED_PATHS = ['/api/agents/chat/abort', '/api/agents/chat/stream/*'];

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A path that normalises to itself but for case and one trailing slash: segments of plain characters only (no
 * `%`, `.`, `;`, `\\`, no empty segment), no query. Every POST LibreChat serves is tested against the gated routes,
 * and this is nearly all of them.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~!$&'()*+,=:@-]+)+\/?$/;

/** Lower-cased, decoded, dot-segment-free path without query, matrix params (`;x`) or trailing slash. */
export function normalizeRequestPath(rawUrl: string): string {
  if (PLAIN_PATH.test(rawUrl)) return (rawUrl.endsWith('/') ? rawUrl.slice(0, -1) : rawUrl).toLowerCase();
  return normalizeAnyRequestPath(rawUrl);
}

/** normalizeRequestPath for any request target (the general case; exported for the property test). */
export function normalizeAnyRequestPath(rawUrl: string): string {
  let path = rawUrl;
  const q = path.search(/[?#]/);
  if (q >= 0) path = path.slice(0, q);
  // An absolute-form request target (`POST http://host/api/...`) is routed by Node/Express on its path.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path);
  if (abs) path = path.slice(abs[0].length);
  const out: string[] = [];
  for (const rawSeg of safeDecode(path).replace(/\\/g, '/').split('/')) {
    const seg = rawSeg.split(';')[0]!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(seg.toLowerCase());
  }
  return '/' + out.join('/');
}

export type PathMatcher = (normalizedPath: string) => boolean;

/** Compiles `/a/b/*` patterns (one `*` = one segment) into a matcher over normalised paths. */
export function compilePatterns(patterns: string[]): PathMatcher {
  const compiled = patterns
    .map((p) => normalizeRequestPath(p.trim()))
    .filter((p) => p !== '/')
    .map((p) => p.split('/'));
  return (path) => {
    const segs = path.split('/');
    return compiled.some((pat) => pat.length === segs.length && pat.every((s, i) => s === '*' || s === segs[i]));
  };
}

export function parsePatternList(value: string | undefined, fallback: string[]): string[] {
  if (value === undefined || value.trim() === '') return fallback;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Gate decision for one request: POST to a gated path that is not explicitly ungated. */
export function createGateMatcher(env: NodeJS.ProcessEnv = process.env): (method: string | undefined, rawUrl: string) => boolean {
  const gated = compilePatterns(parsePatternList(env.SOLARIS_GATED_PATHS, DEFAULT_GATED_PATHS));
  const ungated = compilePatterns(parsePatternList(env.SOLARIS_UNGATED_PATHS, DEFAULT_UNGATED_PATHS));
  return (method, rawUrl) => {
    if ((method ?? '').toUpperCase() !== 'POST') return false;
    const path = normalizeRequestPath(rawUrl);
    return gated(path) && !ungated(path);
  };
}

/**
 * Is this request ours? `/solaris` and everything below it, matched case-insensitively like Express would,
 * so `/SOLARIS/api/me` never falls through to LibreChat's SPA fallback (which would answer index.html).
 */
export function isSolarisPath(rawUrl: string): boolean {
  if (rawUrl.slice(0, 8).toLowerCase() !== '/solaris') return false;
  return rawUrl.length === 8 || '/?#'.includes(rawUrl[8]!);
}
