// Undelivered webhooks (dead letters) on the sync tab, with "Re-send" for
// tokens that may write. Instances without webhooks (501) hide the card.

import { api, AuthError, HTTPError } from "./api.js";
import { $, el, errorRow } from "./dom.js";
import { timeEl } from "./format.js";

const SHOWN = 200; // the oldest dead letters listed; the API pages further

export async function loadDeadLetters(canWrite) {
  let list;
  try {
    list = await api("/api/v1/webhooks/dead-letters?limit=" + SHOWN);
  } catch (e) {
    if (e instanceof AuthError) return;
    if (e instanceof HTTPError && e.status === 501) {
      $("dead-card").hidden = true;
      return;
    }
    $("dead-card").hidden = false;
    $("dead-rows").replaceChildren(errorRow(e.message, 7));
    return;
  }
  $("dead-card").hidden = false;
  const rows = document.createDocumentFragment();
  for (const d of list.dead_letters) rows.appendChild(deadRow(d, canWrite));
  $("dead-rows").replaceChildren(rows);
  $("dead-empty").hidden = list.dead_letters.length > 0;
  $("dead-more").hidden = !list.next_after;
}

function deadRow(d, canWrite) {
  const tr = el("tr");
  tr.dataset.id = d.id;
  tr.appendChild(el("td", null, d.endpoint));
  tr.appendChild(el("td", "user", d.user));
  tr.appendChild(el("td", null, d.event_type));
  tr.appendChild(el("td", "num", String(d.attempts)));
  tr.appendChild(el("td", "why", d.last_error));
  const at = el("td", "until");
  at.appendChild(timeEl(d.dead_lettered_at));
  tr.appendChild(at);
  const act = el("td");
  if (canWrite) {
    const b = el("button", "secondary small resend", "Re-send");
    b.type = "button";
    b.addEventListener("click", () => resend(d.id, tr, b));
    act.appendChild(b);
  }
  tr.appendChild(act);
  return tr;
}

async function resend(id, tr, button) {
  button.disabled = true;
  try {
    await api("/api/v1/webhooks/dead-letters/" + encodeURIComponent(id) + "/retry", { method: "POST" });
    button.replaceWith(el("span", "health ok", "✓ queued"));
  } catch (e) {
    if (e instanceof AuthError) return;
    button.disabled = false;
    tr.lastChild.appendChild(el("span", "error", " " + e.message));
  }
}

