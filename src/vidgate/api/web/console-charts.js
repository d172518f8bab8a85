// Charts of the console, drawn as inline SVG: stacked bars, one per UTC day, one colour per series
// (a key, a failure code), with a legend. No library: a chart is a few dozen elements.
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
// Distinct at a glance, and readable against white.
const PALETTE = [
  "#4338ca", "#db2777", "#0891b2", "#ca8a04", "#16a34a",
  "#9333ea", "#ea580c", "#475569", "#0d9488", "#be123c",
];
const WIDTH = 720;
const HEIGHT = 240;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 48 };

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

// Every ISO day from `first` to `last`, both included.
export function daysBetween(first, last) {
  const days = [];
  const day = new Date(`${first}T00:00:00Z`);
  const end = new Date(`${last}T00:00:00Z`);
  while (day <= end) {
    days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}

// A round axis maximum at or above `value`, and its tick step: 1, 2 or 5 times a power of ten
// (at least 1 for counts, which have no fractions).
function axis(value, whole) {
  if (value <= 0) return { max: 1, step: 1 };
  const raw = value / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  if (whole) step = Math.max(1, Math.round(step));
  return { max: Math.ceil(value / step) * step, step };
}

function short(number) {
  if (number >= 1e6) return `${+(number / 1e6).toFixed(1)}M`;
  if (number >= 1e3) return `${+(number / 1e3).toFixed(1)}k`;
  return `${+number.toFixed(2)}`;
}

// Draws into `container`: `series` is [{name, values: Map(day -> number)}], `days` the x axis.
// `unit` is [one, many] ("job", "jobs"); `whole`: the values are counts; `empty` is said when
// every value is 0.
export function stackedBars(container, { days, series, unit, whole = false, empty }) {
  const named = (value) => `${short(value)} ${value === 1 ? unit[0] : unit[1]}`;
  const totals = days.map((day) => series.reduce((sum, s) => sum + (s.values.get(day) || 0), 0));
  const grand = totals.reduce((a, b) => a + b, 0);
  container.replaceChildren();
  if (grand === 0) {
    container.append(el("p", { className: "hint chart-empty", text: empty }));
    return;
  }
  const { max, step } = axis(Math.max(...totals), whole);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / days.length;
  const barWidth = Math.max(1, slot * 0.72);
  const y = (value) => MARGIN.top + plotHeight - (value / max) * plotHeight;

  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    class: "bars",
    "aria-label": `${named(grand)} over ${days.length} days, ${series.length} series`,
  });
  for (let tick = 0; tick <= max + step / 2; tick += step) {
    chart.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick), class: "gridline" }),
      svg("text", { x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end", class: "tick" }, short(tick)),
    );
  }
  // About eight day labels, whatever the span, counted back from the last day (always labelled).
  const every = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((day, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    let base = 0;
    series.forEach((s, seriesIndex) => {
      const value = s.values.get(day) || 0;
      if (value <= 0) return;
      const bar = svg("rect", {
        x,
        y: y(base + value),
        width: barWidth,
        height: Math.max(0.5, y(base) - y(base + value)),
        fill: PALETTE[seriesIndex % PALETTE.length],
        class: "bar",
        "data-series": s.name,
        "data-day": day,
      });
      bar.append(svg("title", {}, `${s.name}: ${named(value)} on ${day}`));
      chart.append(bar);
      base += value;
    });
    if ((days.length - 1 - index) % every === 0) {
      const label = svg("text", { x: x + barWidth / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "tick" });
      label.textContent = day.slice(5);
      chart.append(label);
    }
  });

  const legend = el("ul", { className: "legend" });
  series.forEach((s, seriesIndex) => {
    const total = days.reduce((sum, day) => sum + (s.values.get(day) || 0), 0);
    const swatch = svg("svg", { viewBox: "0 0 10 10", class: "swatch", "aria-hidden": "true" });
    swatch.append(svg("rect", { width: 10, height: 10, rx: 2, fill: PALETTE[seriesIndex % PALETTE.length] }));
    legend.append(el("li", {}, swatch, ` ${s.name} `, el("span", { className: "hint", text: named(total) })));
  });
  container.append(chart, legend);
}

// Groups report rows into series: `nameOf(row)` names the series, `valueOf(row)` the amount.
export function seriesOf(rows, nameOf, valueOf) {
  const byName = new Map();
  for (const row of rows) {
    const name = nameOf(row);
    if (!byName.has(name)) byName.set(name, { name, values: new Map() });
    const values = byName.get(name).values;
    values.set(row.day, (values.get(row.day) || 0) + valueOf(row));
  }
  // Largest first: the biggest spender gets the first colour and the bottom of each bar.
  const total = (s) => [...s.values.values()].reduce((a, b) => a + b, 0);
  return [...byName.values()].sort((a, b) => total(b) - total(a));
}
