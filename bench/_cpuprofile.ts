// Reads a V8 .cpuprofile (node --cpu-prof): how much main-thread time fell in a window, and how much of it belongs
// to given files. A sample belongs to the nearest frame, from the leaf up, that is code from a file: Node's own
// internals (`node:`) and native frames count for the code that called them (the plugin's socket writes are the
// plugin's), and code the plugin merely wraps (LibreChat's request handlers under the plugin's HTTP hook) is not.
// The leading `_` keeps scripts/build.mjs from building it as an entry point.
import { readFileSync } from 'node:fs';

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
  /** matchedMs by the nearest matching frame: `function file:line` → ms (what to cut first). */
  byFrame: Map<string, number>;
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
  const matches = new Map<number, boolean>();
  /** The nearest file frame of a sample (leaf up, past `node:` and native frames). */
  const owner = (id: number): ProfileNode | undefined => {
    for (let n: ProfileNode | undefined = byId.get(id); n; n = parent.has(n.id) ? byId.get(parent.get(n.id)!) : undefined) {
      const url = n.callFrame.url;
      if (url !== '' && !url.startsWith('node:')) return n;
    }
    return undefined;
  };
  const matched = (id: number): boolean => {
    const known = matches.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id)!;
    const up = parent.get(id);
    const url = n.callFrame.url;
    const v = url === '' || url.startsWith('node:') ? up !== undefined && matched(up) : url.includes(urlPart);
    matches.set(id, v);
    return v;
  };
  let t = p.startTime;
  const out: ProfileShare = { busyMs: 0, matchedMs: 0, gcMs: 0, byFrame: new Map() };
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample's delta is the time since the previous one: attribute it to this sample.
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(p.samples[i]!)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)') continue;
    const ms = p.timeDeltas[i]! / 1000;
    out.busyMs += ms;
    if (name === '(garbage collector)') out.gcMs += ms;
    else if (matched(node.id)) {
      out.matchedMs += ms;
      const f = owner(node.id)!.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${(f.lineNumber ?? -1) + 1}`;
      out.byFrame.set(key, (out.byFrame.get(key) ?? 0) + ms);
    }
  }
  return out;
}
