import type { Cluster, Redis } from 'ioredis';
import { isCluster } from '../redis-client';
import { counterFieldsLua } from './reply';
import counterInclude from './includes/counter.lua';
import reservationsInclude from './includes/reservations.lua';
import settleInclude from './includes/settle.lua';
import reserve from './reserve-2.lua';
import state from './state-2.lua';
import settle from './settle-3.lua';
import settleOutbox from './settleOutbox-4.lua';
import release from './release-1.lua';
import install from './install.lua';
import fired from './fired-1.lua';
import unlock from './unlock-1.lua';
import outboxAppend from './outboxAppend-4.lua';
import outboxTrim from './outboxTrim-1.lua';

/**
 * The Redis scripts, named as in BullMQ's src/commands: `<verb>-<number of keys>.lua`, one atomic step each
 * (no number: the caller passes the key count, e.g. install). Each becomes the ioredis command `solaris<Verb>`
 * (reserve-2 → solarisReserve with 2 keys, settleOutbox-4 → solarisSettleOutbox with 4).
 * Shared Lua lives in includes/: a line `--- @include "name"` is replaced by that include (once per script,
 * recursively), so every script is still one self-contained text run by one EVALSHA.
 */
const SCRIPTS: Record<string, string> = {
  'reserve-2': reserve,
  'state-2': state,
  'settle-3': settle,
  'settleOutbox-4': settleOutbox,
  'release-1': release,
  install,
  'fired-1': fired,
  'unlock-1': unlock,
  'outboxAppend-4': outboxAppend,
  'outboxTrim-1': outboxTrim,
};

const INCLUDES: Record<string, string> = {
  counterFields: counterFieldsLua(),
  counter: counterInclude,
  reservations: reservationsInclude,
  settle: settleInclude,
};

const INCLUDE_LINE = /^--- @include "([^"]+)"[ \t]*$/gm;

/** The script text with its includes inlined (each once, in order of first use). */
export function resolveIncludes(text: string, seen = new Set<string>()): string {
  return text.replace(INCLUDE_LINE, (_, name: string) => {
    if (seen.has(name)) return '';
    const body = INCLUDES[name];
    if (body === undefined) throw new Error(`Lua include "${name}" not found`);
    seen.add(name);
    return resolveIncludes(body, seen);
  });
}

/** A script file's name → its command name and key count. */
export function commandOf(file: string): { name: string; numberOfKeys?: number } {
  const [, verb, keys] = /^([A-Za-z]+)(?:-(\d+))?$/.exec(file) ?? [];
  if (!verb) throw new Error(`Lua script name ${file}: expected <verb>-<keys>`);
  const name = `solaris${verb[0]!.toUpperCase()}${verb.slice(1)}`;
  return keys === undefined ? { name } : { name, numberOfKeys: Number(keys) };
}

/** The resolved scripts by command name, resolved once. */
const COMMANDS = Object.entries(SCRIPTS).map(([file, text]) => ({ ...commandOf(file), lua: resolveIncludes(text) }));

/**
 * Defines every script on `redis` (a node or a Cluster) that it lacks. defineCommand loads each script once
 * (EVALSHA, falling back to EVAL after a SCRIPT FLUSH / restart).
 */
export function defineScripts(redis: Redis): void {
  const r = redis as unknown as Record<string, unknown>;
  for (const { name, numberOfKeys, lua } of COMMANDS) {
    if (typeof r[name] === 'function') continue;
    redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
  }
}

/**
 * Loads every script into Redis (every master of a Cluster) ahead of use: the first call of a script is then one
 * EVALSHA, not EVALSHA + NOSCRIPT + EVAL with the whole text (the first chat after a start paid that per script).
 */
export async function loadScripts(redis: Redis): Promise<void> {
  const nodes = isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
  await Promise.all(nodes.flatMap((node) => COMMANDS.map(({ lua }) => node.script('LOAD', lua))));
}
