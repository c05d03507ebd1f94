// The presence connectors' banner: when a connector (SIP) holds updates
// back because its server is unreachable or rejects the publisher's
// password, every tab says so with the last error. GET /api/v1/connectors.

import { $ } from "./dom.js";
import { api } from "./api.js";

export async function loadConnectors() {
  let list;
  try {
    list = (await api("/api/v1/connectors")).connectors || [];
  } catch (e) {
    return; // the next round tries again; a 401 shows the login form
  }
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
