// The sync tab: totals, connection groups by server with lag and
// throughput, the mailboxes with problems and the undelivered webhooks.

import { api, AuthError } from "./api.js";
import { $, el, errorRow } from "./dom.js";
import { ago, durationText, groupLabel, numFmt, timeEl } from "./format.js";
import { showExchange } from "./exchange.js";
import { loadDeadLetters } from "./deadletters.js";

const SHOWN = 5; // connections listed per group before "+ n more"

// loadSync reads the overview; canWrite offers re-sending dead letters.
export async function loadSync(canWrite) {
  loadDeadLetters(canWrite);
  let ov;
  try {
    ov = await api("/api/v1/sync?health=unhealthy&limit=500");
  } catch (e) {
    if (!(e instanceof AuthError)) $("problem-rows").replaceChildren(errorRow(e.message, 6));
    return;
  }
  showExchange(ov.exchange);
  $("sync-loading").hidden = true;
  const chip = (n, label) => {
    const c = el("div", "chip");
    c.appendChild(el("span", "n", numFmt.format(n)));
    c.appendChild(el("span", "l", label));
    return c;
  };
  $("sync-totals").replaceChildren(chip(ov.mailboxes, "Mailboxes"), chip(ov.healthy, "In sync"), chip(ov.unhealthy, "With problems"), chip(ov.groups.length, "Servers"));
  const now = Date.now();
  const groups = document.createDocumentFragment();
  for (const g of ov.groups) groups.appendChild(groupRow(g, now));
  $("group-rows").replaceChildren(groups);

  const probs = document.createDocumentFragment();
  for (const s of ov.statuses) {
    const tr = el("tr");
    tr.dataset.user = s.user;
    tr.appendChild(el("td", "user", s.user));
    tr.appendChild(el("td", null, s.state));
    tr.appendChild(el("td", "num", String(s.consecutive_failures)));
    tr.appendChild(el("td", null, s.last_error ? s.last_error.code + ": " + s.last_error.message : ""));
    tr.appendChild(el("td", "why", s.last_error ? s.last_error.hint : ""));
    const since = el("td", "until");
    since.appendChild(timeEl(s.last_error && s.last_error.at));
    tr.appendChild(since);
    probs.appendChild(tr);
  }
  $("problem-rows").replaceChildren(probs);
  $("problems-empty").hidden = ov.statuses.length > 0;
}

function groupRow(g, now) {
  const tr = el("tr");
  tr.dataset.group = g.key;
  const label = groupLabel(g.key);
  const server = el("td", "server");
  server.title = g.key;
  server.appendChild(el("span", "server-name", label.server));
  if (label.endpoint) server.appendChild(el("span", "server-endpoint", label.endpoint));
  tr.appendChild(server);

  const conns = el("td", "conns");
  if (g.streams && g.streams.length) {
    for (const c of g.streams.slice(0, SHOWN)) {
      const line = el("span", "stream " + c.state, c.state + " · " + numFmt.format(c.subscriptions) + " subscriptions" + (c.reconnects ? " · " + c.reconnects + " reconnects" : ""));
      line.title = c.name + (c.last_error ? ": " + c.last_error : "");
      conns.appendChild(line);
    }
    if (g.streams.length > SHOWN) conns.appendChild(el("span", "stream", "+ " + (g.streams.length - SHOWN) + " more"));
  } else {
    const names = g.connections || [];
    conns.textContent = names.length ? numFmt.format(names.length) + (names.length === 1 ? " connection" : " connections") : "—";
    conns.title = names.join(", ");
  }
  tr.appendChild(conns);
  tr.appendChild(el("td", "num", numFmt.format(g.mailboxes)));
  tr.appendChild(el("td", "num", numFmt.format(g.healthy)));
  const bad = el("td", "num");
  bad.appendChild(el("span", g.unhealthy ? "health bad" : "health ok", numFmt.format(g.unhealthy)));
  tr.appendChild(bad);

  // Lag: how long the oldest change notification not yet read has waited
  // (0 s when every notified change is read). The tooltip says when calsync
  // last heard from Exchange for this server at all.
  let heard = g.last_event ? new Date(g.last_event) : null;
  for (const c of g.streams || []) {
    if (c.last_message && (!heard || new Date(c.last_message) > heard)) heard = new Date(c.last_message);
  }
  const lag = el("td", "lag num", g.lag_seconds !== undefined ? durationText(Math.round(g.lag_seconds)) : "—");
  if (g.pending) lag.appendChild(el("span", "lag-pending", numFmt.format(g.pending) + " waiting"));
  lag.title = (g.pending ? numFmt.format(g.pending) + " mailboxes notified of a change and not read yet. " : "No notified change waits. ") +
    (heard ? "Last heard from Exchange " + ago(heard, now) + " ago." : "Nothing heard from Exchange yet.");
  tr.appendChild(lag);
  const tp = el("td", "throughput num", g.changed_last_5m !== undefined ? numFmt.format(g.changed_last_5m) + " / 5 min" : "—");
  tp.title = "Mailboxes notified of a change in the last five minutes and read since";
  tr.appendChild(tp);
  tr.appendChild(el("td", "why", Object.entries(g.states || {}).map(([k, v]) => k + " " + numFmt.format(v)).join(", ")));
  return tr;
}
