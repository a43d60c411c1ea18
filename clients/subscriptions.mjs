// GraphQL subscriptions with the real graphql-ws client (the protocol
// graphql-transport-ws, as Apollo speaks it) against a running licensegraph:
//   node subscriptions.mjs <http://host:port/graphql> <licensegraph binary>
// - a customer administrator's `events` subscription receives its
//   organization's order events live, and another organization's
//   administrator none of them;
// - `orderUpdated(id)` follows one order; another organization's order is
//   NOT_FOUND;
// - a connection without a token is refused (4403), and one whose token
//   expires is closed (4403, "the token expired").
import { execFileSync } from "node:child_process";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [httpUrl, bin] = process.argv.slice(2);
const wsUrl = httpUrl.replace(/^http/, "ws");
const mint = (sub, role, org, ttl = "10m") =>
  execFileSync(bin, ["token", "--sub", sub, "--role", role, "--ttl", ttl, ...(org ? ["--org", org] : [])])
    .toString().trim().split("\n").pop();
const fail = (message) => { console.error(`FAILED: ${message}`); process.exit(1); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const admin = mint("ws-desk@licensegraph.example", "admin");
async function gql(token, query, variables = {}) {
  const response = await fetch(httpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) fail(JSON.stringify(body.errors));
  return body.data;
}
async function school(name, number) {
  const org = (await gql(admin, `mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }`,
    { i: { name, kind: "ACADEMIC", accredited: true, certiportTestingCenter: true } })).createOrganization.organization.id;
  const agreement = (await gql(admin, `mutation($i: CreateAgreementInput!) { createAgreement(input: $i) { agreement { id } } }`,
    { i: { organizationId: org, programCode: "SELECT_PLUS_EDU", number, startsOn: "2026-07-01", endsOn: "2027-06-30",
           noticeContact: "licensing@ws.example" } })).createAgreement.agreement.id;
  return { org, agreement };
}
const client = (token, extra = {}) =>
  createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: token ? { authorization: `Bearer ${token}` } : {},
                 retryAttempts: 0, lazy: false, ...extra });
function collect(c, query, variables = {}) {
  const got = [];
  const done = new Promise((resolve) => {
    c.subscribe({ query, variables }, {
      next: (v) => got.push(v),
      error: (e) => { got.error = e; resolve(); },
      complete: () => resolve(),
    });
  });
  return { got, done };
}
async function until(what, check, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (check()) return; await sleep(50); }
  fail(`waited ${ms} ms for ${what}`);
}

const a = await school("WS School", "WS-2026-A");
const b = await school("WS Other School", "WS-2026-B");
const mine = client(mint("boss@ws-a.example", "customer_admin", a.org));
const theirs = client(mint("boss@ws-b.example", "customer_admin", b.org));
const EVENTS = "subscription { events { id type organizationId occurredAt data } }";
const feedA = collect(mine, EVENTS);
const feedB = collect(theirs, EVENTS);
await sleep(500); // subscribed

const order = (await gql(admin, `mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } } }`,
  { i: { agreementId: a.agreement, packageSku: "CLASS-MCP-30", quantity: 1, term: "PRORATED" } })).placeOrder.order.id;
const follow = collect(mine, "subscription($id: ID!) { orderUpdated(id: $id) { type data } }", { id: order });
await sleep(300);
await gql(admin, `mutation($i: OrderStepInput!) { confirmOrder(input: $i) { order { id } } }`, { i: { id: order } });
await until("order.placed and order.confirmed on A's feed", () => feedA.got.length >= 2);
const types = feedA.got.map((v) => v.data.events.type);
if (types.join() !== "order.placed,order.confirmed") fail(`A's feed: ${types}`);
if (feedA.got.some((v) => v.data.events.organizationId !== a.org)) fail("A's feed carried another organization");
await until("orderUpdated", () => follow.got.length >= 1);
if (follow.got[0].data.orderUpdated.type !== "order.confirmed") fail(JSON.stringify(follow.got));
await sleep(1000);
if (feedB.got.length !== 0) fail(`B received A's events: ${JSON.stringify(feedB.got)}`);
console.log(`ok: A's feed got ${types.join(", ")} live; orderUpdated followed the order; B got nothing`);

// Another organization's order is not found.
const probe = collect(theirs, "subscription($id: ID!) { orderUpdated(id: $id) { type } }", { id: order });
await probe.done;
const code = probe.got[0]?.errors?.[0]?.extensions?.code ?? (Array.isArray(probe.got.error) ? probe.got.error[0]?.extensions?.code : undefined);
if (code !== "NOT_FOUND") fail(`B following A's order: ${JSON.stringify(probe.got)} ${JSON.stringify(probe.got.error)}`);
console.log("ok: another organization's order is NOT_FOUND");
await mine.dispose(); await theirs.dispose();

// No token: refused. An expiring token: closed when it expires.
function closeOf(token, ttlWait) {
  return new Promise((resolve) => {
    const c = client(token, { on: { closed: (event) => resolve({ code: event.code, reason: event.reason, at: Date.now() }) } });
    c.subscribe({ query: EVENTS }, { next: () => {}, error: () => {}, complete: () => {} });
    setTimeout(() => resolve({ code: "still open" }), ttlWait);
  });
}
const anonymous = await closeOf(undefined, 5000);
if (anonymous.code !== 4403) fail(`a connection without a token: ${JSON.stringify(anonymous)}`);
const started = Date.now();
const expiring = await closeOf(mint("short@ws-a.example", "customer_admin", a.org, "3s"), 15000);
if (expiring.code !== 4403 || !String(expiring.reason).includes("expired")) fail(`an expiring token: ${JSON.stringify(expiring)}`);
console.log(`ok: no token is refused (4403); an expiring token's connection closed after ${((expiring.at - started) / 1000).toFixed(1)} s (4403, ${expiring.reason})`);
// Hostile frames: a query nested 4 000 deep, and JSON nested 100 000 deep,
// close the connection (4400) before anything parses them; the server goes on.
function rawClose(frames) {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws");
    socket.on("open", () => frames.forEach((f) => socket.send(f)));
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    setTimeout(() => resolve({ code: "still open" }), 10000);
  });
}
const init = JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${admin}` } });
const deepQuery = "subscription { events " + "{ d ".repeat(4000) + "}".repeat(4001);
const deep = await rawClose([init, JSON.stringify({ id: "1", type: "subscribe", payload: { query: deepQuery } })]);
if (deep.code !== 4400) fail(`a deep query over the socket: ${JSON.stringify(deep)}`);
const deepJson = await rawClose([init, "[".repeat(100000) + "]".repeat(100000)]);
if (deepJson.code !== 4400) fail(`deep JSON over the socket: ${JSON.stringify(deepJson)}`);
await gql(admin, "{ __typename }");
console.log(`ok: hostile frames closed the connection (4400: ${deep.reason}; ${deepJson.reason}); the server goes on`);
process.exit(0);
