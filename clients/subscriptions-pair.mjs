// Two server processes on one PostgreSQL database (hardening/live.py starts
// them): an event written through one reaches a graphql-ws subscriber of
// the other, woken by NOTIFY.
//   node subscriptions-pair.mjs <http url of A> <http url of B> <licensegraph binary>
import { execFileSync } from "node:child_process";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [urlA, urlB, bin] = process.argv.slice(2);
const mint = (sub, role, org) =>
  execFileSync(bin, ["token", "--sub", sub, "--role", role, "--ttl", "10m", ...(org ? ["--org", org] : [])])
    .toString().trim().split("\n").pop();
const fail = (message) => { console.error(`FAILED: ${message}`); process.exit(1); };
const admin = mint("pair-desk@licensegraph.example", "admin");
async function gql(query, variables) {
  const response = await fetch(urlA, { method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
    body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) fail(JSON.stringify(body.errors));
  return body.data;
}
const org = (await gql(`mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }`,
  { i: { name: "Pair School", kind: "ACADEMIC", accredited: true } })).createOrganization.organization.id;
const agreement = (await gql(`mutation($i: CreateAgreementInput!) { createAgreement(input: $i) { agreement { id } } }`,
  { i: { organizationId: org, programCode: "SELECT_PLUS_EDU", number: "PAIR-2026-1", startsOn: "2026-07-01",
         endsOn: "2027-06-30", noticeContact: "pair@ws.example" } })).createAgreement.agreement.id;

const client = createClient({ url: urlB.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0,
  connectionParams: { authorization: `Bearer ${mint("boss@pair.example", "customer_admin", org)}` } });
const got = [];
client.subscribe({ query: "subscription { events { type organizationId } }" },
  { next: (v) => got.push([Date.now(), v]), error: (e) => fail(JSON.stringify(e)), complete: () => {} });
await new Promise((r) => setTimeout(r, 1000));
const sent = Date.now();
await gql(`mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } } }`,
  { i: { agreementId: agreement, packageSku: "CLASS-MCP-30", quantity: 1, term: "PRORATED" } });
for (let i = 0; i < 100 && got.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
if (got.length !== 1 || got[0][1].data.events.type !== "order.placed" || got[0][1].data.events.organizationId !== org) {
  fail(`process B's subscriber got ${JSON.stringify(got)}`);
}
console.log(`ok: an order placed through process A reached a subscriber of process B in ${got[0][0] - sent} ms`);
await client.dispose();
process.exit(0);
