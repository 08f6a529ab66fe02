// The comparison table bench:gate and bench:gate:librechat print: one column per variant, then each later
// variant minus the first ("added"), then the target and whether the first added value meets it.
// The leading `_` keeps scripts/build.mjs from building it as an entry point.
import { fixed } from './_shared';

export type Row = (
  label: string,
  value: (variant: string) => number,
  target: string,
  digits: number,
  ok: ((added: number) => boolean) | null,
  /** What "added" is measured from, for the first variant (default: `value`). */
  base?: (variant: string) => number,
) => void;

/** Prints the header now; returns the function that prints one row. */
export function variantTable(names: string[], header: string, labelWidth: number): Row {
  console.log(`${header.padEnd(labelWidth)}${names.map((n) => n.padStart(10)).join('')}${names.slice(1).map((n) => `${n} +`.padStart(12)).join('')}   target`);
  return (label, value, target, digits, ok, base = value) => {
    const from = base(names[0]!);
    const added = names.slice(1).map((n) => value(n) - from);
    const verdict = ok && target && Number.isFinite(added[0]!) ? (ok(added[0]!) ? 'ok' : 'MISS') : '';
    console.log(`${label.padEnd(labelWidth)}${names.map((n) => fixed(value(n), digits).padStart(10)).join('')}${added.map((a) => fixed(a, digits).padStart(12)).join('')}   ${target.padEnd(8)} ${verdict}`);
  };
}
