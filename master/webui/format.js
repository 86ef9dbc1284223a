// Formatting and HTML building shared by the views. Every value from the cluster goes
// through `esc` (or `html`'s interpolation) before it reaches innerHTML.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML content and attribute values. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Marks a string as already-built HTML, so `html` does not escape it again. */
export class Html {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

/** A tagged template: interpolated values are escaped unless they are `Html` (or arrays of it). */
export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new Html(out);
}

function render(value) {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return esc(value);
}

/** Megabytes (how Mesos counts mem and disk) in a readable unit. */
export function megabytes(mb) {
  return bytes((Number(mb) || 0) * 1024 * 1024);
}

export function bytes(count) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(count) || 0;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function number(value, digits = 2) {
  const n = Number(value) || 0;
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** A resource amount in its usual unit. */
export function amount(name, value) {
  if (name === "mem" || name === "disk") return megabytes(value);
  if (name === "ports") return `${value} ports`;
  return number(value);
}

/** How many ports a Mesos ranges string (`"[31000-31009, 32000-32000]"`) holds. */
export function portCount(ranges) {
  if (typeof ranges !== "string") return 0;
  let total = 0;
  for (const match of ranges.matchAll(/(\d+)-(\d+)/g)) {
    total += Number(match[2]) - Number(match[1]) + 1;
  }
  return total;
}

/** The amount of `name` in a flat resources object (`{"cpus": 2, "ports": "[…]"}`). */
export function resource(resources, name) {
  if (!resources) return 0;
  return name === "ports" ? portCount(resources.ports) : Number(resources[name]) || 0;
}

/** Seconds since the epoch, as a local date and time. */
export function time(secs) {
  if (!secs) return "—";
  return new Date(secs * 1000).toLocaleString();
}

/** How long ago `secs` (since the epoch) was. */
export function ago(secs) {
  if (!secs) return "—";
  const delta = Math.max(0, Date.now() / 1000 - secs);
  if (delta < 60) return `${Math.round(delta)} s ago`;
  if (delta < 3600) return `${Math.round(delta / 60)} min ago`;
  if (delta < 86400) return `${(delta / 3600).toFixed(1)} h ago`;
  return `${(delta / 86400).toFixed(1)} days ago`;
}

export function state(name) {
  return html`<span class="state state-${name}">${String(name || "").replace(/^TASK_/, "")}</span>`;
}

/** A hash link built from path segments and a query, each part encoded. */
export function link(segments, query = {}) {
  const path = segments.map((s) => encodeURIComponent(s)).join("/");
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const qs = params.toString();
  return `#/${path}${qs ? `?${qs}` : ""}`;
}

/** An agent's short name for tables: its hostname, else its id. */
export function agentName(agent, id) {
  return agent?.hostname || id || "—";
}
