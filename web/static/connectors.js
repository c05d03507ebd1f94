// The presence connectors: a banner on every tab while a connector (SIP)
// holds updates back because its server is unreachable or rejects the
// publisher's password, with the last error; and a card on the sync tab
// with each connector's state, publications, queue and last error.
// GET /api/v1/connectors; without connectors both stay hidden.

import { $, el } from "./dom.js";
import { api } from "./api.js";

export async function loadConnectors() {
  let list;
  try {
    list = (await api("/api/v1/connectors")).connectors || [];
  } catch (e) {
    return; // the next round tries again; a 401 shows the login form
  }
  showCard(list);
  const down = list.filter((c) => c.unavailable);
  const b = $("connector-banner");
  if (down.length === 0) {
    b.hidden = true;
    return;
  }
  const c = down[0];
  $("connector-text").textContent = "Presence connector " + c.name.toUpperCase() + " is holding " + c.queue_length + " updates back";
  $("connector-detail").textContent = c.last_error || "";
  b.hidden = false;
}

function showCard(list) {
  $("connectors-card").hidden = list.length === 0;
  const rows = document.createDocumentFragment();
  for (const c of list) {
    const tr = el("tr");
    tr.dataset.connector = c.name;
    tr.appendChild(el("td", null, c.name.toUpperCase()));
    let state = el("span", "health ok", "✓ connected");
    if (c.unavailable) state = el("span", "health bad", "holding updates back");
    else if (!c.connected) state = el("span", "health", "not connected yet");
    const td = el("td", "state");
    td.appendChild(state);
    tr.appendChild(td);
    tr.appendChild(el("td", "num pubs", String(c.publications_live || 0)));
    tr.appendChild(el("td", "num queue", String(c.queue_length || 0)));
    tr.appendChild(el("td", "why", c.last_error || ""));
    rows.appendChild(tr);
  }
  $("connector-rows").replaceChildren(rows);
}
