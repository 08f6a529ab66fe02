import { useLayoutEffect, useRef, useState, type ReactNode, type RefObject } from 'react';
import { useSolaris } from '../provider';

export interface BarDatum {
  /** Unique per bar (default: the label). */
  key?: string;
  label: string;
  value: number;
  title?: string;
}

/** Plot height of the vertical chart: the largest bar is this tall. */
export const PLOT_H = 120;
const FALLBACK_W = 600; // before the first measure, and where there is no layout (jsdom)
const CHAR_W = 6.2; // average width of a 10–11 px label character

/** The element's content width, kept current with a ResizeObserver: charts are drawn at the size of their box. */
function useBoxWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(FALLBACK_W);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = () => {
      const w = Math.floor(el.clientWidth);
      if (w > 0) setWidth(w);
    };
    update();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(update);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return width;
}

function VerticalBars({ data, width, format }: { data: BarDatum[]; width: number; format(n: number): string }) {
  const max = Math.max(...data.map((d) => d.value), 1);
  const top = 14; // room for the max value's label
  const gutter = Math.ceil(format(max).length * CHAR_W) + 8; // y-axis labels
  const right = 20; // the last x label may overhang its bar
  const area = Math.max(40, width - gutter - right);
  const slot = area / data.length;
  const gap = Math.min(4, slot * 0.2);
  const bw = Math.max(1, slot - gap);
  const labelW = Math.max(...data.map((d) => d.label.length)) * CHAR_W + 8;
  const every = Math.max(1, Math.ceil(labelW / slot)); // label every n-th bar, counted from the last
  const height = top + PLOT_H + 18;
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true" focusable="false">
      <line x1={gutter} x2={gutter + area} y1={top} y2={top} className="sol-chart-grid" />
      <text x={gutter - 6} y={top + 4} textAnchor="end" className="sol-chart-label">
        {format(max)}
      </text>
      <text x={gutter - 6} y={top + PLOT_H} textAnchor="end" className="sol-chart-label">
        {format(0)}
      </text>
      <line x1={gutter} x2={gutter + area} y1={top + PLOT_H} y2={top + PLOT_H} className="sol-chart-axis" />
      {data.map((d, i) => {
        const bh = Math.max(d.value > 0 ? 1 : 0, (PLOT_H * d.value) / max);
        const x = gutter + i * slot + gap / 2;
        return (
          <g key={d.key ?? d.label}>
            <title>{d.title ?? `${d.label}: ${format(d.value)}`}</title>
            <rect x={x} y={top + PLOT_H - bh} width={bw} height={bh} rx={Math.min(2, bw / 3)} className="sol-chart-bar" />
            {(data.length - 1 - i) % every === 0 && (
              <text x={x + bw / 2} y={top + PLOT_H + 13} textAnchor="middle" className="sol-chart-label">
                {d.label}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

function HorizontalBars({ data, width, format }: { data: BarDatum[]; width: number; format(n: number): string }) {
  const max = Math.max(...data.map((d) => d.value), 1);
  const rowH = 24;
  const labelW = Math.round(Math.min(220, Math.max(90, width * 0.32)));
  const valueW = Math.ceil(Math.max(...data.map((d) => format(d.value).length)) * CHAR_W) + 10;
  const area = Math.max(30, width - labelW - valueW);
  const chars = Math.max(6, Math.floor((labelW - 8) / CHAR_W));
  const height = data.length * rowH;
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true" focusable="false">
      {data.map((d, i) => {
        const w = Math.max(1, (area * d.value) / max);
        return (
          <g key={d.key ?? d.label} transform={`translate(0 ${i * rowH})`}>
            <title>{d.title ?? `${d.label}: ${format(d.value)}`}</title>
            <text x={0} y={16} className="sol-chart-label">
              {d.label.length > chars ? `${d.label.slice(0, chars - 1)}…` : d.label}
            </text>
            <rect x={labelW} y={5} width={w} height={rowH - 10} rx={3} className="sol-chart-bar" />
            <text x={labelW + w + 6} y={16} className="sol-chart-value">
              {format(d.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/**
 * A small hand-made SVG bar chart (vertical, or horizontal for categories), drawn at the width of its box
 * (text stays at its real size: no viewBox scaling), with a labelled value axis and as many day labels as
 * fit. Screen readers get the numbers from a visually hidden table; sighted users get a <title> per bar.
 */
export function BarChart({ data, caption, horizontal = false, format }: { data: BarDatum[]; caption: string; horizontal?: boolean; format(n: number): string }) {
  const { t } = useSolaris();
  const box = useRef<HTMLDivElement>(null);
  const width = useBoxWidth(box);
  let svg: ReactNode = null;
  if (data.length > 0) svg = horizontal ? <HorizontalBars data={data} width={width} format={format} /> : <VerticalBars data={data} width={width} format={format} />;
  return (
    <figure className="sol-chart">
      <figcaption>{caption}</figcaption>
      <div className="sol-chart-box" ref={box}>
        {data.length === 0 ? <p className="sol-muted">{t.noData}</p> : svg}
      </div>
      {data.length > 0 && (
        <table className="sol-sr-only">
          <caption>{caption}</caption>
          <tbody>
            {data.map((d) => (
              <tr key={d.key ?? d.label}>
                <th scope="row">{d.label}</th>
                <td>{format(d.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
