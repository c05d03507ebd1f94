// Formatting of times, durations and labels. Every time the dashboard shows
// goes through here, so that all of them follow the browser's locale the
// same way, in the browser's time zone, which the top bar names.
//
// Times are always in 24-hour form ("09:15", "14:45"), whatever the
// locale's habit: the status texts calsync writes ("In a meeting until
// 14:45") are 24-hour, and a row that says "until 14:45" beside "9:15 AM"
// reads as a contradiction.
const clock = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
const timeFmt = new Intl.DateTimeFormat(undefined, clock);
const dayTimeFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", ...clock });
const hourFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", hourCycle: "h23" });
export const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
export const numFmt = new Intl.NumberFormat();

// browserZone is the IANA name of the browser's time zone.
export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

// zoneLabel names a zone with its short form at the given instant, e.g.
// "Europe/Berlin (CET)"; the short form is left out when it only repeats
// the offset the name already implies ("UTC (UTC)").
export function zoneLabel(zone, at) {
  let short = "";
  try {
    const part = new Intl.DateTimeFormat(undefined, { timeZone: zone, timeZoneName: "short" })
      .formatToParts(at || new Date())
      .find((p) => p.type === "timeZoneName");
    short = part ? part.value : "";
  } catch (e) {
    return zone; // an unknown zone name from the server: show it as it is
  }
  return short && short !== zone ? zone + " (" + short + ")" : zone;
}

// sameZone reports whether two zone names give the same wall clock and
// abbreviation now ("Etc/UTC" and "UTC", or two names of one zone), so the
// page does not point out a difference the user cannot see.
export function sameZone(a, b, now) {
  if (a === b) return true;
  const at = now || new Date();
  const label = (z) => {
    try {
      return new Intl.DateTimeFormat("en-US", { timeZone: z, timeZoneName: "short", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" }).format(at);
    } catch (e) {
      return "invalid zone " + z;
    }
  };
  return label(a) === label(b);
}

// localTimeIn formats the wall-clock time of now in zone, or "" when the
// zone is unknown to the browser.
export function localTimeIn(zone, now) {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...clock }).format(now || new Date());
  } catch (e) {
    return "";
  }
}

// zoneTimeText is an instant's wall-clock time in zone, as the status
// texts calsync writes in that zone show it: the time alone on that zone's
// today, with the weekday on other days. "" when the zone is unknown.
export function zoneTimeText(d, zone, now) {
  try {
    const day = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    const opts = day.format(d) === day.format(now || new Date()) ? clock : { weekday: "short", ...clock };
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...opts }).format(d);
  } catch (e) {
    return "";
  }
}

// zonePlace is the short place name of an IANA zone for a compact hint
// ("Asia/Kolkata" → "Kolkata", "America/New_York" → "New York").
export function zonePlace(zone) {
  return zone.slice(zone.lastIndexOf("/") + 1).replace(/_/g, " ");
}

export function startOfDay(d) {
  const x = new Date(d);
  x.setHours(0, 0, 0, 0);
  return x;
}

export function addDays(d, n) {
  const x = new Date(d);
  x.setDate(x.getDate() + n);
  return startOfDay(x);
}

function sameDay(a, b) {
  return startOfDay(a).getTime() === startOfDay(b).getTime();
}

// timeText is the text of an instant: the time alone today, weekday and
// date with the time on other days.
export function timeText(d) {
  return sameDay(d, new Date()) ? timeFmt.format(d) : dayTimeFmt.format(d);
}

// timeOfDay is the time alone (for the agenda of one day).
export function timeOfDay(d) {
  return timeFmt.format(d);
}

// hourLabel is a compact hour for the timeline's scale ("15" or "3 PM").
export function hourLabel(d) {
  return hourFmt.format(d);
}

// timeEl is a <time> element for an ISO instant (or "—" text when absent),
// with the full date, time and zone as its tooltip.
export function timeEl(iso, format) {
  if (!iso) return document.createTextNode("—");
  const d = new Date(iso);
  const t = document.createElement("time");
  t.dateTime = d.toISOString();
  t.textContent = (format || timeText)(d);
  t.title = dayFmt.format(d) + ", " + timeFmt.format(d) + " " + zoneLabel(browserZone, d);
  return t;
}

// ago describes how long ago an instant was, compactly ("4 s", "3 min",
// "2 h", "5 d").
export function ago(iso, now) {
  if (!iso) return "";
  const s = Math.max(0, Math.round(((now || Date.now()) - new Date(iso)) / 1000));
  return durationText(s);
}

// durationText writes a number of seconds compactly.
export function durationText(s) {
  if (s < 90) return s + " s";
  if (s < 90 * 60) return Math.round(s / 60) + " min";
  if (s < 36 * 3600) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

// groupLabel turns an affinity group key ("<GroupingInformation>|<EWS URL>")
// into what an administrator recognises: the Exchange server (site) name
// and the host of the EWS endpoint.
export function groupLabel(key) {
  if (!key) return { server: "(no group)", endpoint: "" };
  const bar = key.lastIndexOf("|");
  const grouping = bar >= 0 ? key.slice(0, bar) : key;
  const url = bar >= 0 ? key.slice(bar + 1) : "";
  let endpoint = url;
  try {
    endpoint = new URL(url).host;
  } catch (e) {
    // not a URL: keep it as it is
  }
  return { server: grouping || endpoint || key, endpoint: grouping ? endpoint : "" };
}
