// How the console writes numbers, sizes and times.

// Credits and counts: at most two decimals, thousands grouped ("1,000,000").
export function amount(value) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: 2 });
}

// Bytes in the largest unit that keeps the number at or above 1 (decimal units, as disks say).
export function size(bytes) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

// An ISO time as "YYYY-MM-DD HH:MM" (UTC, as the API gives it).
export function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 16) : "";
}
