// Drives calsync's Graph simulator with Microsoft's JavaScript Graph client
// (@microsoft/microsoft-graph-client), as a client nobody here wrote.
// graph/graphserver/graphjs_test.go runs it and compares what it printed
// with the simulator's ground truth.
//
// Environment: GRAPH_HOST (https://host:port), TENANT, CLIENT_ID,
// CLIENT_SECRET, USER_ID, START, END (ISO 8601 window).
// Protocol: one JSON line per step on stdout; before the second delta
// round the script waits for a line on stdin (the test changes the
// mailbox in between).
"use strict";

const { Client, PageIterator, GraphError } = require("@microsoft/microsoft-graph-client");
const readline = require("readline");

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set`);
  }
  return v;
};

const host = env("GRAPH_HOST");
const user = env("USER_ID");
const window = { startDateTime: env("START"), endDateTime: env("END") };

function emit(step, data) {
  process.stdout.write(JSON.stringify({ step, ...data }) + "\n");
}

const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));

async function token() {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: env("CLIENT_ID"),
    client_secret: env("CLIENT_SECRET"),
    scope: "https://graph.microsoft.com/.default",
  });
  const res = await fetch(`${host}/${env("TENANT")}/oauth2/v2.0/token`, { method: "POST", body });
  const json = await res.json();
  if (!res.ok) {
    throw new Error(`token endpoint: ${res.status} ${JSON.stringify(json)}`);
  }
  return json;
}

// round follows one delta round from request to its deltaLink.
async function round(client, first) {
  const entries = [];
  let res = await first;
  let pages = 1;
  for (;;) {
    for (const e of res.value) {
      entries.push({ id: e.id, subject: e.subject, removed: e["@removed"] ? e["@removed"].reason : undefined });
    }
    if (res["@odata.deltaLink"]) {
      return { entries, pages, deltaLink: res["@odata.deltaLink"] };
    }
    res = await client.api(res["@odata.nextLink"]).get();
    pages++;
  }
}

async function main() {
  const tok = await token();
  const client = Client.init({
    baseUrl: host,
    defaultVersion: "v1.0",
    customHosts: new Set([new URL(host).hostname]),
    authProvider: (done) => done(null, tok.access_token),
  });

  // calendarView through the SDK's PageIterator (it follows nextLinks).
  const zone = 'outlook.timezone="Pacific Standard Time"';
  const requestOptions = { headers: { Prefer: zone } };
  const first = await client.api(`/users/${user}/calendarView`).query(window).top(4).header("Prefer", zone).get();
  const view = [];
  const it = new PageIterator(client, first, (e) => {
    view.push({ id: e.id, subject: e.subject, start: e.start, type: e.type, showAs: e.showAs });
    return true;
  }, requestOptions);
  await it.iterate();
  emit("calendarView", { expires_in: tok.expires_in, firstPage: first.value.length, events: view });

  // Delta: the initial round, then (after the test changed the mailbox) the next.
  const d1 = await round(client, client.api(`/users/${user}/calendarView/delta`).query(window).header("Prefer", "odata.maxpagesize=5").get());
  emit("delta1", { entries: d1.entries, pages: d1.pages, deltaLink: d1.deltaLink });
  await nextLine();
  const d2 = await round(client, client.api(d1.deltaLink).get());
  emit("delta2", { entries: d2.entries, pages: d2.pages });

  const settings = await client.api(`/users/${user}/mailboxSettings`).get();
  emit("mailboxSettings", { timeZone: settings.timeZone, automaticRepliesSetting: settings.automaticRepliesSetting });

  // Errors arrive as the SDK's GraphError with Graph's code.
  try {
    await client.api("/users/nobody@example.com/mailboxSettings").get();
    emit("error", { statusCode: 200 });
  } catch (err) {
    emit("error", { statusCode: err.statusCode, code: err.code, isGraphError: err instanceof GraphError });
  }
  lines.close();
}

main().catch((err) => {
  process.stderr.write(`conformance.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
