// Reads a V8 .cpuprofile (node --cpu-prof): how much main-thread time fell in a window, and how much of it belongs
// to given files. A sample belongs to the nearest frame, from the leaf up, that is code from a file: Node's own
// internals (`node:`) and native frames count for the code that called them (the plugin's socket writes are the
// plugin's), and code the plugin merely wraps (LibreChat's request handlers under the plugin's HTTP hook) is not.
// The leading `_` keeps scripts/build.mjs from building it as an entry point.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber?: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  /** ms of samples inside the window that were not idle. */
  busyMs: number;
  /** ms of those whose nearest file frame's url contains `urlPart`. */
  matchedMs: number;
  gcMs: number;
  /** The matched ms by nearest file frame ("function file:line"), largest first. */
  top: Array<{ frame: string; ms: number }>;
  /**
   * The matched ms by the source a frame was bundled from ("ioredis", "pg", "librechat-plugin/src/lib/gate.ts"),
   * largest first: read off esbuild's `// <path>` comments, so only for an unminified bundle (else "?").
   */
  modules: Array<{ module: string; ms: number }>;
}

/** Line (0-based) → bundled source, from the `// node_modules/...` / `// server-extension/...` markers esbuild writes. */
const sourceMaps = new Map<string, string[]>();
function sourceOfLine(url: string, line: number): string {
  let lines = sourceMaps.get(url);
  if (!lines) {
    lines = [];
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    if (existsSync(path)) {
      let cur = '?';
      for (const text of readFileSync(path, 'utf8').split('\n')) {
        const m = /^\s*\/\/ ((?:node_modules|server-extension|librechat-plugin|wire)\/\S+)$/.exec(text);
        if (m) cur = m[1]!.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+).*/, '$1');
        lines.push(cur);
      }
    }
    sourceMaps.set(url, lines);
  }
  return lines[line] ?? '?';
}

/**
 * `fromUs`/`toUs`: CLOCK_MONOTONIC microseconds (process.hrtime in the bench), the clock V8 stamps samples with
 * on Linux.
 */
export function profileShare(file: string, urlPart: string, fromUs: number, toUs: number): ProfileShare {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The nearest frame with a file of its own, from this node up (null: none, e.g. a native callback of Node's).
  const nearest = new Map<number, ProfileNode | null>();
  const fileFrame = (id: number): ProfileNode | null => {
    const known = nearest.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id)!;
    const up = parent.get(id);
    const url = n.callFrame.url;
    const v = url === '' || url.startsWith('node:') ? (up !== undefined ? fileFrame(up) : null) : n;
    nearest.set(id, v);
    return v;
  };
  let t = p.startTime;
  const out: ProfileShare = { busyMs: 0, matchedMs: 0, gcMs: 0, top: [], modules: [] };
  const byFrame = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample's delta is the time since the previous one: attribute it to this sample.
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(p.samples[i]!)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)') continue;
    const ms = p.timeDeltas[i]! / 1000;
    out.busyMs += ms;
    if (name === '(garbage collector)') {
      out.gcMs += ms;
      continue;
    }
    const f = fileFrame(node.id);
    if (!f || !f.callFrame.url.includes(urlPart)) continue;
    out.matchedMs += ms;
    const key = `${f.callFrame.functionName || '(anonymous)'} ${f.callFrame.url.split('/').pop()}:${(f.callFrame.lineNumber ?? 0) + 1}`;
    byFrame.set(key, (byFrame.get(key) ?? 0) + ms);
    const module = sourceOfLine(f.callFrame.url, f.callFrame.lineNumber ?? 0);
    byModule.set(module, (byModule.get(module) ?? 0) + ms);
  }
  out.top = [...byFrame].map(([frame, ms]) => ({ frame, ms })).sort((a, b) => b.ms - a.ms);
  out.modules = [...byModule].map(([module, ms]) => ({ module, ms })).sort((a, b) => b.ms - a.ms);
  return out;
}
