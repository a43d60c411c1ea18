// A page served from an allowed origin calls the API with a bearer token
// and reads the answer; the same page from an origin not on the list cannot
// (its browser refuses to hand over the answer). Run by clients/run.sh:
//   node cors.mjs <api url> <token> <screenshot path>
import http from 'node:http';
import { chromium } from 'playwright-core';

const [api, token, screenshot] = process.argv.slice(2);

const page = `<!doctype html><html><head><title>portal</title></head><body>
<h1>A portal on another origin</h1><pre id="out">waiting</pre>
<script>
fetch(${JSON.stringify(api)}, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ${token}', 'x-licensegraph-role': 'admin' },
  body: JSON.stringify({ query: 'query Me { viewer { subject roles } }', operationName: 'Me' }),
})
  .then((r) => r.json().then((j) => ({ id: r.headers.get('x-request-id'), j })))
  .then(({ id, j }) => { document.getElementById('out').textContent = 'read ' + JSON.stringify(j) + ' request ' + id; })
  .catch((e) => { document.getElementById('out').textContent = 'refused ' + e; });
</script></body></html>`;

/** Serves the page on `host` at a free port; resolves to [server, origin]. */
function serve(host) {
  return new Promise((resolve, reject) => {
    const server = http.createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
    });
    server.on('error', reject);
    server.listen(0, host, () => resolve([server, `http://${host}:${server.address().port}`]));
  });
}

const [allowedServer, allowed] = await serve('127.0.0.1');
const [refusedServer, refused] = await serve('127.0.0.2');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failures = 0;
try {
  for (const [origin, expect] of [[allowed, 'read'], [refused, 'refused']]) {
    const tab = await browser.newPage();
    const console_ = [];
    tab.on('console', (message) => console_.push(message.text()));
    await tab.goto(origin + '/');
    await tab.waitForFunction(() => document.getElementById('out').textContent !== 'waiting', null, { timeout: 15000 });
    const out = await tab.textContent('#out');
    const ok = expect === 'read'
      ? out.startsWith('read ') && out.includes('"subject":"cors-test@licensegraph.example"') && !out.includes('request null')
      // Refused by the browser for CORS, not by a network failure.
      : out.startsWith('refused ') && console_.some((line) => line.includes('blocked by CORS policy'));
    console.log(`${ok ? 'ok' : 'FAILED'}: ${origin} (${expect}): ${out}`);
    if (!ok) console.log(console_.join('\n'));
    if (!ok) failures += 1;
    if (expect === 'read' && screenshot) await tab.screenshot({ path: screenshot });
    await tab.close();
  }
} finally {
  await browser.close();
  allowedServer.close();
  refusedServer.close();
}
console.log(`${2 - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
