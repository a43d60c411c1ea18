// GraphiQL with no network beyond loopback: the page renders from the
// server's own assets, under its Content-Security-Policy with no violation;
// a pasted token is kept for the session only (until "remember"), makes
// GraphiQL fetch the schema again and runs a query that needs it; the
// README's examples fill the editor; a subscription shows an event live;
// the documentation explorer opens.
// Run by clients/run.sh:
//   node graphiql.mjs <server origin> <token> <screenshot path>
import { chromium } from 'playwright-core';

const [origin, token, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // No name resolves but loopback: a request to another host fails.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'],
});

const results = [];
function check(ok, what, detail = '') {
  results.push(ok);
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}${detail && !ok ? ' - ' + detail : ''}`);
}

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const foreign = [];
  // Anything not on the server's own origin is refused and recorded.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/') || url === origin) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const introspections = [];
  page.on('request', (r) => {
    if (r.url() === origin + '/graphql' && (r.postData() || '').includes('__schema')) {
      introspections.push(r.headers()['authorization'] || null);
    }
  });

  const response = await page.goto(origin + '/');
  const headers = response.headers();
  check((headers['content-security-policy'] || '').includes("script-src 'self'") &&
    !(headers['content-security-policy'] || '').includes('unsafe'), 'the page has a same-origin CSP', headers['content-security-policy']);
  check(headers['x-content-type-options'] === 'nosniff' && headers['referrer-policy'] === 'no-referrer' &&
    headers['x-frame-options'] === 'DENY', 'nosniff, no-referrer and DENY framing', JSON.stringify(headers));

  await page.waitForSelector('.graphiql-container', { timeout: 30000 });
  check(true, 'GraphiQL renders');
  await page.waitForFunction(() => document.querySelectorAll('#example option').length > 5, null, { timeout: 10000 });
  const before = introspections.length;
  check(before >= 1 && introspections[0] === null, 'the schema is fetched anonymously first', JSON.stringify(introspections));

  await page.fill('#token', token);
  for (let i = 0; i < 100 && introspections.length === before; i += 1) await page.waitForTimeout(100);
  check(introspections.length > before && introspections.at(-1) === 'Bearer ' + token,
    'pasting a token fetches the schema again, with the token', JSON.stringify(introspections.length));
  const stored = await page.evaluate(() => [sessionStorage.getItem('licensegraph.token'), localStorage.getItem('licensegraph.token')]);
  check(stored[0] === token && stored[1] === null, 'the token is kept for this session only', JSON.stringify(stored));
  await page.check('#remember');
  const remembered = await page.evaluate(() => localStorage.getItem('licensegraph.token'));
  check(remembered === token, '"remember" keeps it in this browser');
  await page.uncheck('#remember');
  check(await page.evaluate(() => localStorage.getItem('licensegraph.token')) === null, 'unticking forgets it');

  // An example from the README fills the editor.
  const programs = await page.$eval('#example', (select) =>
    [...select.options].find((o) => o.textContent === 'Programs')?.value);
  await page.selectOption('#example', programs);
  const editor = () => page.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue());
  for (let i = 0; i < 50 && !(await editor()).includes('query Programs'); i += 1) await page.waitForTimeout(100);
  check((await editor()).includes('query Programs'), "the README's examples fill the editor", await editor());

  // A document of two operations: the run button opens a menu to choose
  // one (GraphiQL adds a <style> for it, admitted by the page's nonce).
  const two = await page.$eval('#example', (select) =>
    [...select.options].find((o) => o.textContent === 'Me · CreateLab')?.value);
  await page.selectOption('#example', two);
  await page.waitForTimeout(500);
  await page.click('.graphiql-execute-button');
  await page.waitForSelector('[role="menuitem"]', { timeout: 5000 });
  check((await page.$$('[role="menuitem"]')).length === 2, 'a two-operation example offers both to run');
  await page.keyboard.press('Escape');

  // A query that needs the token.
  await page.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
    .setValue('query Whoami { viewer { authenticated subject roles } }'));
  await page.waitForTimeout(500); // GraphiQL parses the edited document before the button runs it
  await page.click('.graphiql-execute-button');
  const answer = () => page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() || '');
  for (let i = 0; i < 100 && !(await answer()).includes('graphiql-test@'); i += 1) await page.waitForTimeout(100);
  const text = await answer();
  check(text.includes('"authenticated": true') && text.includes('graphiql-test@licensegraph.example') && text.includes('ADMIN'),
    'an authenticated query runs with the pasted token', text);

  // A subscription runs over the WebSocket (graphql-transport-ws) and shows
  // an event written after it started.
  const api = async (query, variables) => (await (await fetch(origin + '/graphql', {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
    body: JSON.stringify({ query, variables }) })).json()).data;
  const org = (await api('mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }',
    { i: { name: 'GraphiQL Live School', kind: 'ACADEMIC', accredited: true } })).createOrganization.organization.id;
  const agreement = (await api('mutation($i: CreateAgreementInput!) { createAgreement(input: $i) { agreement { id } } }',
    { i: { organizationId: org, programCode: 'SELECT_PLUS_EDU', number: 'GQL-LIVE-1', startsOn: '2026-07-01',
           endsOn: '2027-06-30', noticeContact: 'live@graphiql.example' } })).createAgreement.agreement.id;
  await page.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
    .setValue('subscription Live { events(types: ["order.placed"]) { type organizationId } }'));
  await page.waitForTimeout(500);
  await page.click('.graphiql-execute-button');
  await page.waitForTimeout(1000);
  await api('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { order { id } } }',
    { i: { agreementId: agreement, packageSku: 'CLASS-MCP-30', quantity: 1, term: 'PRORATED' } });
  for (let i = 0; i < 100 && !(await answer()).includes('order.placed'); i += 1) await page.waitForTimeout(100);
  const live = await answer();
  check(live.includes('order.placed') && live.includes(org), 'a subscription shows an event live', live);
  await page.click('.graphiql-execute-button'); // stops it

  // The schema documentation.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer', { timeout: 10000 });
  await page.click('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name >> text=Query');
  await page.waitForFunction(() => document.querySelector('.graphiql-doc-explorer')?.textContent.includes('programs'), null, { timeout: 10000 });
  check(true, 'the documentation explorer shows the Query type');
  await page.screenshot({ path: screenshot });

  check(foreign.length === 0, 'no request left loopback', foreign.join(' '));
  check(problems.length === 0, 'no console error and no CSP violation', problems.join('\n'));
  await context.close();
} catch (error) {
  check(false, 'the walk-through finished', String(error && error.stack || error));
} finally {
  await browser.close();
}
const failed = results.filter((ok) => !ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
