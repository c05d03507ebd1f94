// Small DOM builders and the labels shared by the views.

export const AVAILABILITIES = [
  ["available", "Available"],
  ["busy", "Busy"],
  ["tentative", "Tentative"],
  ["out_of_office", "Out of office"],
  ["working_elsewhere", "Working elsewhere"],
  ["unknown", "Unknown"],
];
export const LABEL = Object.fromEntries(AVAILABILITIES);
const SOURCE = {
  calendar: "Calendar",
  automatic_replies: "Automatic replies",
  override: "Manual override",
  no_data: "No data",
  free: "No appointment",
};

export const $ = (id) => document.getElementById(id);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

export function describeWhy(why) {
  if (!why) return "";
  const parts = [SOURCE[why.source] || why.source];
  if (why.rule) parts.push("rule “" + why.rule + "”");
  if (why.subject) parts.push(why.subject);
  else if (why.detail) parts.push(why.detail);
  return parts.join(" · ");
}

export function badge(availability) {
  return el("span", "badge " + availability, LABEL[availability] || availability);
}

export function healthCell(sync) {
  if (!sync) return el("span", "health", "—");
  if (sync.healthy) return el("span", "health ok", "✓ " + sync.state);
  const bad = el("span", "health bad", "✕ " + sync.state);
  // The error code may wrap onto its own line in a narrow column.
  if (sync.error_code) bad.appendChild(el("span", "code", " (" + sync.error_code + ")"));
  return bad;
}

// kv builds a definition list from [label, value] pairs, skipping empty
// values; a value may be a DOM node.
export function kv(pairs) {
  const dl = el("dl", "kv");
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.appendChild(el("dt", null, k));
    const dd = el("dd");
    if (v instanceof Node) dd.appendChild(v);
    else dd.textContent = v;
    dl.appendChild(dd);
  }
  return dl;
}

// frag joins text and nodes into one fragment.
export function frag(...parts) {
  const f = document.createDocumentFragment();
  for (const p of parts) f.append(p);
  return f;
}

export function errorRow(message, cols) {
  const tr = el("tr");
  const td = el("td", "error", message);
  td.colSpan = cols;
  tr.appendChild(td);
  return tr;
}
