/**
 * The counter scripts' reply, named in one place. Every counter script (reserve-2, state-2, settle-3,
 * settleOutbox-4) answers ONE string, "status\nreserved\n<COUNTER_FIELDS in this order>[\nextra]" (reply() in
 * includes/counter.lua: one bulk string decodes far faster than an array), or 'MISSING'.
 *
 * COUNTER_FIELDS is the only list of those fields: the Lua side's HMGET and field positions are generated from
 * it into the "counterFields" include (counterFieldsLua below, inlined by scripts.ts when the scripts load), and
 * the TypeScript side reads the split reply at REPLY positions derived from it. Adding a field here adds it to
 * both; the counter rebuild (redis-quota-store.ts) must then write it too (its type requires every field).
 */
export const COUNTER_FIELDS = ['pl', 'pkd', 'pk', 'ps', 'pe', 'lim', 'gr', 'used', 'ne', 'cap', 'wp', 'fd'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

/** Positions in the reply split on "\n". A field the hash lacks is ''; `extra` (reserve: held; settleOutbox: entry id) may be absent. */
export const REPLY = {
  status: 0,
  reserved: 1,
  field: Object.fromEntries(COUNTER_FIELDS.map((f, i) => [f, i + 2])) as Record<CounterField, number>,
  extra: 2 + COUNTER_FIELDS.length,
} as const;

/**
 * The "counterFields" include: the HMGET of the counter hash in COUNTER_FIELDS order and each field's position
 * as a Lua local named after it in capitals (v[PK], v[USED], …), NFIELDS the count. Locals and one function: no
 * per-call table (includes/counter.lua says why that matters).
 */
export function counterFieldsLua(): string {
  for (const f of COUNTER_FIELDS) if (!/^[a-z]+$/.test(f)) throw new Error(`counter field ${f}: lower-case letters only`);
  const names = COUNTER_FIELDS.map((f) => f.toUpperCase()).join(', ');
  const positions = COUNTER_FIELDS.map((_, i) => i + 1).join(', ');
  const quoted = COUNTER_FIELDS.map((f) => `'${f}'`).join(', ');
  return [
    '-- Generated from COUNTER_FIELDS (lua/reply.ts) when the scripts load.',
    `local ${names} = ${positions}`,
    `local NFIELDS = ${COUNTER_FIELDS.length}`,
    `local function hmgetCounter(key) return redis.call('HMGET', key, ${quoted}) end`,
  ].join('\n');
}
