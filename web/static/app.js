// calsync dashboard. Plain JavaScript modules, no framework, no build step.
// Data comes from the REST API (/api/v1) with a bearer token kept in
// sessionStorage; live changes arrive over Server-Sent Events and are
// applied to the visible rows only, batched per animation frame, so that
// 10,000 users stay responsive (the list itself is paged by the server).

import { api, AuthError, HTTPError, onUnauthorized, setToken, token, userPath } from "./api.js";
import { $, AVAILABILITIES, LABEL, badge, describeWhy, el, healthCell, kv } from "./dom.js";
import { addDays, browserZone, dayFmt, groupLabel, hourLabel, localTimeIn, numFmt, sameZone, startOfDay, timeEl, timeOfDay, zoneLabel, zonePlace, zoneTimeText } from "./format.js";
import { showExchange } from "./exchange.js";
import { loadConnectors } from "./connectors.js";
import { loadSync } from "./sync.js";

  const state = {
    role: "", // "read" or "admin" from GET /api/v1/me; "" until known
    offset: 0,
    limit: 100,
    q: "",
    availability: "",
    sync: "",
    total: 0,
    counts: {},
    rows: new Map(), // user -> {tr, presence, sync} for the visible page
    selected: null,
    day: startOfDay(new Date()),
    events: null,
    lastEventId: "",
    tab: "users",
    pending: new Map(), // user -> presence waiting for the next frame
    pendingSync: new Map(), // user -> sync status waiting for the next frame
    frame: 0,
    listSeq: 0,
    syncTimer: 0,
    countsTimer: 0,
    exchangeTimer: 0,
  };

  // ---- login -------------------------------------------------------------

  function showLogin(message) {
    closeEvents();
    $("loading").hidden = true;
    $("app").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("login-error").hidden = !message;
    $("login-error").textContent = message || "";
    $("token-input").focus();
  }

  function signedIn() {
    $("loading").hidden = true;
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = !token();
  }

  onUnauthorized(showLogin);

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    setToken($("token-input").value.trim());
    $("token-input").value = "";
    state.role = "";
    start();
  });

  $("logout").addEventListener("click", () => {
    setToken("");
    state.role = "";
    showLogin("");
  });

  // ---- user list ---------------------------------------------------------

  async function loadUsers() {
    const seq = ++state.listSeq;
    const params = new URLSearchParams({ offset: state.offset, limit: state.limit });
    if (state.q) params.set("q", state.q);
    if (state.availability) params.set("availability", state.availability);
    if (state.sync) params.set("sync", state.sync);
    let list;
    try {
      list = await api("/api/v1/users?" + params);
    } catch (e) {
      if (!(e instanceof AuthError)) console.error("calsync: loading users:", e);
      return;
    }
    if (seq !== state.listSeq) return; // a newer request superseded this one
    signedIn();
    state.total = list.total;
    state.counts = list.counts || {};
    renderRows(list.users);
    renderCounts();
    renderPager();
    if (!state.events) openEvents(String(list.event_id));
  }

  function matchesFilter(p, sync) {
    if (state.availability && p.availability !== state.availability) return false;
    if (state.sync === "healthy" && !(sync && sync.healthy)) return false;
    if (state.sync === "unhealthy" && sync && sync.healthy) return false;
    if (state.q) {
      const q = state.q.toLowerCase();
      if (!p.user.toLowerCase().includes(q) && !(p.status_text || "").toLowerCase().includes(q)) return false;
    }
    return true;
  }

  function renderRows(users) {
    const body = $("rows");
    const frag = document.createDocumentFragment();
    state.rows.clear();
    for (const u of users) {
      const tr = document.createElement("tr");
      tr.dataset.user = u.user;
      tr.tabIndex = 0;
      for (const cls of ["user", "avail", "status-text", "until", "why", "sync"]) tr.appendChild(el("td", cls));
      tr.cells[0].replaceChildren(addressEl(u.user));
      tr.cells[0].title = u.user;
      const row = { tr, presence: u, sync: u.sync };
      fillPresence(row, u);
      fillSync(row, u.sync);
      if (u.user === state.selected) tr.classList.add("selected");
      state.rows.set(u.user, row);
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    $("empty").hidden = users.length > 0;
  }

  function fillPresence(row, p) {
    row.presence = p;
    const c = row.tr.cells;
    c[1].replaceChildren(badge(p.availability));
    // Status and why are clamped to two lines (the full text is the
    // tooltip), so a narrow table keeps rows of even height.
    clamped(c[2], p.status_text || "");
    // The status text is written by calsync in the user's own zone (it goes
    // to phones and chat too); say so when that is not the browser's.
    if (p.status_text && p.time_zone && !sameZone(p.time_zone, browserZone)) c[2].title += " — times in " + zoneLabel(p.time_zone);
    fillUntil(c[3], p);
    clamped(c[4], describeWhy(p.why));
    row.tr.classList.toggle("stale", !matchesFilter(p, row.sync));
  }

  // fillUntil writes the end of the presence in the browser's zone and,
  // when the user lives in another zone, below it their own wall-clock
  // time with the place: the status text beside it says "until 14:45" in
  // the user's zone, and the two must visibly be the same instant.
  function fillUntil(td, p) {
    td.replaceChildren(timeEl(p.until));
    const local = userLocalUntil(p);
    if (local) td.append(el("span", "user-local", local));
    td.title = local ? "In the user's time zone, " + zoneLabel(p.time_zone, new Date(p.until)) + ": " + local : "";
  }

  // userLocalUntil is the end of the presence in the user's zone with the
  // place ("15:51 Kolkata"), or "" when that zone reads like the browser's.
  function userLocalUntil(p) {
    if (!p.until || !p.time_zone || sameZone(p.time_zone, browserZone)) return "";
    const local = zoneTimeText(new Date(p.until), p.time_zone);
    return local ? local + " " + zonePlace(p.time_zone) : "";
  }

  // addressEl lets a long address break after its "@" (and nowhere else),
  // in at most two lines.
  function addressEl(user) {
    const d = el("div", "clamp");
    const at = user.lastIndexOf("@");
    if (at > 0) d.append(user.slice(0, at), document.createElement("wbr"), user.slice(at));
    else d.textContent = user;
    return d;
  }

  function clamped(td, text) {
    const d = el("div", "clamp", text);
    td.replaceChildren(d);
    td.title = text;
  }

  function fillSync(row, sync) {
    row.sync = sync;
    const cell = [healthCell(sync)];
    // Hybrid: a small marker says where the mailbox lives.
    const where = hostedText(sync && sync.hosted_on);
    if (where) cell.push(el("span", "hosted " + sync.hosted_on, where));
    row.tr.cells[5].replaceChildren(...cell);
  }

  // hostedText names a hybrid mailbox's side ("" outside hybrid).
  function hostedText(side) {
    if (side === "exchange_online") return "Exchange Online";
    if (side === "exchange") return "Exchange Server";
    return "";
  }

  function renderCounts() {
    const box = $("counts");
    const frag = document.createDocumentFragment();
    let total = 0;
    for (const [, n] of Object.entries(state.counts)) total += n;
    const chip = (key, label, n) => {
      const c = el("div", "chip" + (state.availability === key ? " selected" : ""));
      c.dataset.availability = key;
      c.appendChild(el("span", "n", numFmt.format(n)));
      c.appendChild(el("span", "l", label));
      return c;
    };
    frag.appendChild(chip("", "All users", total));
    for (const [key, label] of AVAILABILITIES) frag.appendChild(chip(key, label, state.counts[key] || 0));
    box.replaceChildren(frag);
  }

  $("counts").addEventListener("click", (ev) => {
    const c = ev.target.closest(".chip");
    if (!c) return;
    state.availability = c.dataset.availability === state.availability ? "" : c.dataset.availability;
    $("filter-availability").value = state.availability;
    state.offset = 0;
    loadUsers();
  });

  function renderPager() {
    const from = state.total === 0 ? 0 : state.offset + 1;
    const to = Math.min(state.offset + state.limit, state.total);
    $("range").textContent = numFmt.format(from) + "–" + numFmt.format(to) + " of " + numFmt.format(state.total);
    $("prev").disabled = state.offset === 0;
    $("next").disabled = state.offset + state.limit >= state.total;
  }

  let searchTimer = 0;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = $("search").value.trim();
      state.offset = 0;
      loadUsers();
    }, 250);
  });
  $("filter-availability").addEventListener("change", () => {
    state.availability = $("filter-availability").value;
    state.offset = 0;
    loadUsers();
  });
  $("filter-sync").addEventListener("change", () => {
    state.sync = $("filter-sync").value;
    state.offset = 0;
    loadUsers();
  });
  $("page-size").addEventListener("change", () => {
    state.limit = Number($("page-size").value);
    state.offset = 0;
    loadUsers();
  });
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - state.limit);
    loadUsers();
  });
  $("next").addEventListener("click", () => {
    state.offset += state.limit;
    loadUsers();
  });
  $("rows").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr");
    if (tr) select(tr.dataset.user);
  });
  $("rows").addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr");
    if (!tr) return;
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      select(tr.dataset.user);
    } else if (ev.key === "ArrowDown" && tr.nextElementSibling) {
      ev.preventDefault();
      tr.nextElementSibling.focus();
    } else if (ev.key === "ArrowUp" && tr.previousElementSibling) {
      ev.preventDefault();
      tr.previousElementSibling.focus();
    }
  });

  // ---- live events -------------------------------------------------------

  function openEvents(lastId) {
    const params = new URLSearchParams();
    if (token()) params.set("access_token", token());
    if (lastId) params.set("last_event_id", lastId);
    const es = new EventSource("/api/v1/events?" + params);
    state.events = es;
    es.onopen = () => setLive(true);
    es.onerror = () => {
      setLive(false);
      if (es.readyState === EventSource.CLOSED && state.events === es) {
        // The browser gave up (the server answered an error, e.g. 401 after
        // a token change): reload the list, which asks for a token if
        // needed and reopens the stream from the list's event id.
        state.events = null;
        setTimeout(() => {
          if (!state.events && !$("app").hidden) loadUsers();
        }, 3000);
      }
    };
    es.addEventListener("presence.changed", (ev) => {
      state.lastEventId = ev.lastEventId;
      onPresenceChanged(JSON.parse(ev.data));
    });
    es.addEventListener("sync.health", (ev) => {
      state.lastEventId = ev.lastEventId;
      onSyncHealth(JSON.parse(ev.data));
    });
    es.addEventListener("stream.reset", (ev) => {
      state.lastEventId = ev.lastEventId;
      loadUsers();
      if (state.tab === "sync") loadSync(state.role === "admin");
      if (state.selected) loadDetail(state.selected);
    });
  }

  function closeEvents() {
    if (state.events) state.events.close();
    state.events = null;
    setLive(false, "offline");
  }

  function setLive(on, text) {
    const l = $("live");
    l.classList.toggle("on", on);
    l.classList.toggle("off", !on);
    l.textContent = text || (on ? "live" : "reconnecting");
  }

  function onPresenceChanged(change) {
    if (change.previous) state.counts[change.previous.availability] = Math.max(0, (state.counts[change.previous.availability] || 0) - 1);
    state.counts[change.current.availability] = (state.counts[change.current.availability] || 0) + 1;
    state.pending.set(change.user, change.current);
    schedule();
    scheduleCountsRefresh();
  }

  // The counters are adjusted per event for immediacy and re-read from the
  // server a few seconds after a burst, which corrects any event counted
  // twice (one that landed between a list and the stream's resume point).
  function scheduleCountsRefresh() {
    if (state.countsTimer) return;
    state.countsTimer = setTimeout(async () => {
      state.countsTimer = 0;
      try {
        const list = await api("/api/v1/users?limit=1");
        state.counts = list.counts || {};
        renderCounts();
      } catch (e) {
        // The next list load or event burst tries again.
      }
    }, 5000);
  }

  function onSyncHealth(status) {
    state.pendingSync.set(status.user, {
      state: status.state,
      healthy: status.healthy,
      group: status.group,
      hosted_on: status.hosted_on,
      error_code: status.healthy || !status.last_error ? "" : status.last_error.code,
      full: status,
    });
    schedule();
    if (state.tab === "sync" && !state.syncTimer) {
      state.syncTimer = setTimeout(() => {
        state.syncTimer = 0;
        loadSync(state.role === "admin");
      }, 2000);
    }
  }

  // schedule applies queued changes in the next animation frame, so a burst
  // of thousands of events costs one DOM pass.
  function schedule() {
    if (state.frame) return;
    state.frame = requestAnimationFrame(flush);
  }

  function flush() {
    state.frame = 0;
    for (const [user, sync] of state.pendingSync) {
      const row = state.rows.get(user);
      if (row) fillSync(row, sync);
      if (user === state.selected) renderDetailSync(sync.full);
    }
    state.pendingSync.clear();
    for (const [user, p] of state.pending) {
      const row = state.rows.get(user);
      if (row) {
        fillPresence(row, p);
        row.tr.classList.remove("flash");
        void row.tr.offsetWidth; // restart the highlight animation
        row.tr.classList.add("flash");
      }
      if (user === state.selected) renderDetailPresence(p);
    }
    state.pending.clear();
    renderCounts();
  }

  // ---- detail panel ------------------------------------------------------

  // start loads what the first screen needs: the token's role and the first
  // page of users. Until then the page shows its loading state.
  async function start() {
    $("zone").textContent = zoneLabel(browserZone);
    if ($("app").hidden) {
      $("login").hidden = true;
      $("loading").hidden = false;
    }
    await loadRole();
    await loadUsers();
    loadExchange();
  }

  // loadRole asks which role the token has. A server without roles (no
  // /me) lets every token write, so the dashboard shows every action.
  async function loadRole() {
    try {
      const me = await api("/api/v1/me");
      state.role = me && me.role === "read" ? "read" : "admin";
    } catch (e) {
      if (e instanceof AuthError) return;
      state.role = e instanceof HTTPError && e.status === 404 ? "admin" : "read";
    }
    applyRole();
  }

  // applyRole hides what the token may not do. The server refuses it
  // anyway (403); hiding spares the user a form that cannot work.
  function applyRole() {
    const canWrite = state.role === "admin";
    for (const e of document.querySelectorAll(".admin-only")) e.hidden = !canWrite;
    $("role").textContent = state.role === "read" ? "read-only" : "";
    $("role").hidden = state.role !== "read";
  }

  // The Exchange banner follows the sync overview; it is re-read every 15
  // seconds (and with the sync tab) so that a rejected password shows on
  // every tab. The presence connectors' banner follows on the same round.
  async function loadExchange() {
    clearTimeout(state.exchangeTimer);
    try {
      const ov = await api("/api/v1/sync?limit=1");
      showExchange(ov.exchange);
      await loadConnectors();
    } catch (e) {
      // The next round tries again; a 401 shows the login form.
    }
    if (!$("app").hidden) state.exchangeTimer = setTimeout(loadExchange, 15000);
  }

  function select(user) {
    if (state.selected && state.rows.has(state.selected)) state.rows.get(state.selected).tr.classList.remove("selected");
    state.selected = user;
    if (state.rows.has(user)) state.rows.get(user).tr.classList.add("selected");
    $("detail").hidden = false;
    $("detail-user").replaceChildren(addressEl(user));
    overrideMessage("", false);
    loadDetail(user);
  }

  $("detail-close").addEventListener("click", () => {
    if (state.selected && state.rows.has(state.selected)) state.rows.get(state.selected).tr.classList.remove("selected");
    state.selected = null;
    $("detail").hidden = true;
  });

  async function loadDetail(user) {
    $("detail-presence").replaceChildren(el("p", "muted loading-inline", "Loading…"));
    $("detail-sync").replaceChildren();
    $("sync-now-msg").hidden = true;
    const [p, s] = await Promise.allSettled([api(userPath(user, "/presence")), api(userPath(user, "/sync"))]);
    if (state.selected !== user) return;
    if (p.status === "fulfilled") renderDetailPresence(p.value);
    if (s.status === "fulfilled") renderDetailSync(s.value);
    else $("detail-sync").replaceChildren(el("p", "empty", "No sync status."));
    loadAgenda(user);
  }

  function renderDetailPresence(p) {
    const why = p.why || {};
    $("detail-presence").replaceChildren(
      kv([
        ["Presence", badge(p.availability)],
        ["Status", p.status_text],
        ["Profile", p.profile],
        ["Since", p.since ? timeEl(p.since) : ""],
        ["Until", p.until ? span(timeEl(p.until), userLocalUntil(p) ? " (" + userLocalUntil(p) + ")" : "") : "open-ended"],
        ["Why", describeWhy(why)],
        ["Appointment", why.start ? span(timeEl(why.start), " – ", timeEl(why.end)) : ""],
        ["Next", p.next ? span(timeEl(p.next.at), " → " + (LABEL[p.next.availability] || p.next.availability) + (p.next.status_text ? " (" + p.next.status_text + ")" : "")) : "none planned"],
        ["Forward to", p.forward_to],
        ["Time zone", userZone(p.time_zone)],
      ])
    );
  }

  function span(...parts) {
    const s = el("span");
    s.append(...parts);
    return s;
  }

  // userZone names the user's time zone with the wall-clock time there when
  // it differs from the browser's, which all times on the page are in.
  function userZone(zone) {
    if (!zone) return "";
    if (sameZone(zone, browserZone)) return zoneLabel(zone) + " (as shown)";
    const local = localTimeIn(zone);
    return zoneLabel(zone) + (local ? " · now " + local + " there" : "");
  }

  function serverText(key) {
    const g = groupLabel(key);
    return g.endpoint ? g.server + " (" + g.endpoint + ")" : g.server;
  }

  function renderDetailSync(s) {
    const err = s.last_error;
    $("detail-sync").replaceChildren(
      kv([
        ["State", healthCell({ healthy: s.healthy, state: s.state, error_code: err && !s.healthy ? err.code : "" })],
        ["Hosted on", hostedText(s.hosted_on)],
        ["Server", s.group ? serverText(s.group) : ""],
        ["Connection", s.connection],
        ["Last event", s.last_event ? timeEl(s.last_event) : ""],
        ["Verified", s.last_verified ? timeEl(s.last_verified) : ""],
        ["Items", s.occurrences !== undefined ? String(s.occurrences) : ""],
        ["Last error", err ? err.code + ": " + err.message : ""],
        ["Hint", err ? err.hint : ""],
      ])
    );
  }

  async function loadAgenda(user) {
    const start = state.day;
    const end = addDays(start, 1);
    $("day-label").textContent = dayFmt.format(start);
    const params = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
    let agenda;
    try {
      agenda = await api(userPath(user, "/agenda?" + params));
    } catch (e) {
      $("timeline").replaceChildren(el("p", "empty", "Agenda unavailable: " + e.message));
      $("agenda").replaceChildren();
      return;
    }
    if (state.selected !== user || state.day !== start) return;
    const zone = agenda.time_zone;
    $("agenda-zone").hidden = !zone || sameZone(zone, browserZone, start);
    $("agenda-zone").textContent = zone ? "Times in your time zone, " + zoneLabel(browserZone, start) + "; " + user + " is in " + zoneLabel(zone, start) + "." : "";
    renderTimeline(agenda.items, start, end);
    loadPresenceStrip(user, start, end);
  }

  // loadPresenceStrip previews the day's presence (the dry-run endpoint under
  // the current rules) above the appointments; it stays hidden when the
  // instance offers no dry-run.
  async function loadPresenceStrip(user, start, end) {
    let run;
    try {
      run = await api(userPath(user, "/dry-run"), { method: "POST", body: JSON.stringify({ start: start.toISOString(), end: end.toISOString() }) });
    } catch (e) {
      return;
    }
    if (state.selected !== user || state.day !== start) return;
    const span = end - start;
    const pct = (t) => Math.min(100, Math.max(0, ((t - start) / span) * 100));
    const strip = el("div", "presence-strip");
    for (const p of run.timeline) {
      const s = p.since ? new Date(p.since) : start;
      const e = p.until ? new Date(p.until) : end;
      if (e <= start || s >= end) continue;
      const b = el("div", "pblock " + p.availability);
      b.style.left = pct(s) + "%";
      b.style.width = Math.max(0.3, pct(e) - pct(s)) + "%";
      b.title = (LABEL[p.availability] || p.availability) + " " + timeOfDay(s) + "–" + timeOfDay(e) + (p.status_text ? ": " + p.status_text : "") + (p.why ? " (" + describeWhy(p.why) + ")" : "");
      strip.appendChild(b);
    }
    const tl = $("timeline");
    const old = tl.querySelector(".presence-strip");
    if (old) old.replaceWith(strip);
    else tl.insertBefore(strip, tl.querySelector(".lanes"));
  }

  function renderTimeline(items, start, end) {
    const span = end - start;
    const pct = (t) => Math.min(100, Math.max(0, ((t - start) / span) * 100));
    const tl = $("timeline");
    const hours = el("div", "hours");
    const lanes = el("div", "lanes");
    for (let h = 0; h <= 24; h += 3) {
      const at = new Date(start);
      at.setHours(h);
      const x = pct(h === 24 ? end : at);
      if (h > 0 && h < 24) {
        const label = el("span", null, hourLabel(at));
        label.style.left = x + "%";
        hours.appendChild(label);
        const g = el("div", "grid");
        g.style.left = x + "%";
        lanes.appendChild(g);
      }
    }
    // Greedy lane assignment so overlapping items stay visible.
    const laneEnds = [];
    const sorted = items.slice().sort((a, b) => new Date(a.start) - new Date(b.start));
    for (const it of sorted) {
      const s = new Date(it.start);
      const e = new Date(it.end);
      let lane = laneEnds.findIndex((t) => t <= s);
      if (lane < 0) lane = laneEnds.push(e) - 1;
      else laneEnds[lane] = e;
      const b = el("div", "block " + it.free_busy + (it.cancelled ? " cancelled" : "") + (it.response === "Decline" ? " declined" : ""), it.subject || "(no subject)");
      b.style.left = pct(s) + "%";
      b.style.width = Math.max(0.8, pct(e) - pct(s)) + "%";
      b.style.top = 4 + lane * 26 + "px";
      b.title = timeOfDay(new Date(it.start)) + " – " + timeOfDay(new Date(it.end)) + " " + (it.subject || "") + (it.location ? " @ " + it.location : "");
      lanes.appendChild(b);
    }
    lanes.style.height = Math.max(1, laneEnds.length) * 26 + 8 + "px";
    const now = new Date();
    if (now >= start && now < end) {
      const n = el("div", "now");
      n.style.left = pct(now) + "%";
      lanes.appendChild(n);
    }
    tl.replaceChildren(hours, lanes);

    const list = $("agenda");
    const frag = document.createDocumentFragment();
    for (const it of sorted) {
      const li = el("li");
      const t = el("span", "t");
      if (it.all_day) t.textContent = "all day";
      else t.append(timeEl(it.start, timeOfDay), "–", timeEl(it.end, timeOfDay));
      li.appendChild(t);
      const what = el("span", it.private ? "what private" : "what", (it.subject || "(no subject)") + (it.location ? " · " + it.location : ""));
      li.appendChild(what);
      const flags = [it.free_busy];
      if (it.cancelled) flags.push("cancelled");
      if (it.response && it.response !== "Organizer" && it.response !== "Unknown") flags.push(it.response);
      li.appendChild(el("span", "health", flags.join(", ")));
      frag.appendChild(li);
    }
    if (sorted.length === 0) frag.appendChild(el("li", "empty", "No appointments."));
    list.replaceChildren(frag);
  }

  $("day-prev").addEventListener("click", () => {
    state.day = addDays(state.day, -1);
    if (state.selected) loadAgenda(state.selected);
  });
  $("day-next").addEventListener("click", () => {
    state.day = addDays(state.day, 1);
    if (state.selected) loadAgenda(state.selected);
  });
  $("day-today").addEventListener("click", () => {
    state.day = startOfDay(new Date());
    if (state.selected) loadAgenda(state.selected);
  });

  // ---- manual override -----------------------------------------------------

  function overrideUntil(choice) {
    if (!choice) return undefined;
    if (choice === "eod") return addDays(new Date(), 1).toISOString();
    return new Date(Date.now() + Number(choice) * 60000).toISOString();
  }

  function overrideMessage(text, isError) {
    const m = $("ov-msg");
    m.hidden = !text;
    m.textContent = text || "";
    m.className = isError ? "error" : "muted";
  }

  $("override-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const user = state.selected;
    if (!user) return;
    const body = { availability: $("ov-availability").value };
    const text = $("ov-text").value.trim();
    if (text) body.status_text = text;
    const until = overrideUntil($("ov-until").value);
    if (until) body.until = until;
    try {
      const p = await api(userPath(user, "/override"), { method: "PUT", body: JSON.stringify(body) });
      if (state.selected === user) renderDetailPresence(p);
      overrideMessage("Override set.", false);
    } catch (e) {
      if (!(e instanceof AuthError)) overrideMessage(e.message, true);
    }
  });

  $("ov-clear").addEventListener("click", async () => {
    const user = state.selected;
    if (!user) return;
    try {
      const p = await api(userPath(user, "/override"), { method: "DELETE" });
      if (state.selected === user) renderDetailPresence(p);
      overrideMessage("Override cleared.", false);
    } catch (e) {
      if (!(e instanceof AuthError)) overrideMessage(e.message, true);
    }
  });

  $("sync-now").addEventListener("click", async () => {
    const user = state.selected;
    if (!user) return;
    const msg = $("sync-now-msg");
    try {
      await api(userPath(user, "/sync-now"), { method: "POST" });
      msg.textContent = "Sync requested.";
      msg.className = "muted";
    } catch (e) {
      if (e instanceof AuthError) return;
      msg.textContent = e.message;
      msg.className = "error";
    }
    msg.hidden = false;
  });

  // ---- tabs --------------------------------------------------------------

  document.querySelector(".tabs").addEventListener("click", (ev) => {
    const b = ev.target.closest(".tab");
    if (!b) return;
    state.tab = b.dataset.tab;
    for (const t of document.querySelectorAll(".tab")) {
      t.classList.toggle("active", t === b);
      t.setAttribute("aria-selected", String(t === b));
    }
    $("tab-users").hidden = state.tab !== "users";
    $("tab-sync").hidden = state.tab !== "sync";
    if (state.tab === "sync") loadSync(state.role === "admin");
  });

  $("problem-rows").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr");
    if (!tr || !tr.dataset.user) return;
    document.querySelector('.tab[data-tab="users"]').click();
    select(tr.dataset.user);
  });

  // Refresh "until" texts that depend on the current day once a minute.
  setInterval(() => {
    for (const row of state.rows.values()) fillPresence(row, row.presence);
  }, 60000);

  start();
