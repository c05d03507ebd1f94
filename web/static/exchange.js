// The Exchange banner: when the sync overview reports that Exchange refuses
// the service account, cannot be reached or throttles calsync, every tab
// says so, with a countdown to the next attempt.

import { $ } from "./dom.js";
import { durationText } from "./format.js";

const PROBLEM = {
  credentials_rejected: "Exchange rejected the service account password",
  unreachable: "Exchange is unreachable",
  throttled: "Exchange is throttling calsync",
};

let current = null;
let ticker = 0;

// showExchange shows the exchange block of GET /api/v1/sync; an absent
// block (an older server) or state "ok" hides the banner.
export function showExchange(ex) {
  current = ex && ex.state && ex.state !== "ok" ? ex : null;
  render();
  if (current && current.next_attempt && !ticker) ticker = setInterval(render, 1000);
  if (!current && ticker) {
    clearInterval(ticker);
    ticker = 0;
  }
}

function render() {
  const b = $("exchange-banner");
  if (!current) {
    b.hidden = true;
    return;
  }
  let text = PROBLEM[current.state] || "Exchange: " + current.state;
  if (current.next_attempt) {
    const s = Math.round((new Date(current.next_attempt) - Date.now()) / 1000);
    text += s > 0 ? " — next try in " + durationText(s) : " — trying again now";
  }
  $("exchange-text").textContent = text;
  $("exchange-detail").textContent = current.last_error || "";
  b.dataset.state = current.state;
  b.hidden = false;
}
