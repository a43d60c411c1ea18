// Runs the graphql-http server audits against a running licensegraph and
// fails when any MUST or SHOULD audit fails. Usage: node audit.mjs [url]
import { auditServer } from 'graphql-http';

const url = process.argv[2] || process.env.LICENSEGRAPH_URL || 'http://127.0.0.1:8000/graphql';
const results = await auditServer({ url });

let failed = 0;
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const level = result.name.split(' ')[0];
  const line = `${result.status.padEnd(5)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
    continue;
  }
  // MAY audits report `warn`; MUST and SHOULD audits that fail are errors for us.
  const blocking = level === 'MUST' || level === 'SHOULD';
  if (blocking) failed += 1;
  console.log(`${line}\n      ${blocking ? 'FAILED' : 'note'}: ${result.reason}`);
}
console.log(`\ngraphql-http audit: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors, ${failed} MUST/SHOULD failures`);
process.exit(failed === 0 ? 0 : 1);
