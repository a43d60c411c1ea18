// Apollo Client with its persisted-query link against licensegraph: the
// first query sends only its hash, is told PERSISTED_QUERY_NOT_FOUND, and
// the link sends the text; the next time, the hash alone runs it, over POST
// and over GET (useGETForHashedQueries). Run by clients/run.sh:
//   node apq.mjs <api url> <token>
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const [api, token] = process.argv.slice(2);
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

let failures = 0;
let checks = 0;
const check = (ok, what, detail = '') => {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}${ok ? '' : ` ${detail}`}`);
  checks += 1;
  if (!ok) failures += 1;
};

for (const useGETForHashedQueries of [false, true]) {
  const sent = [];
  const recording = (url, init) => {
    const body = init?.body ? JSON.parse(init.body) : null;
    const target = new URL(url);
    sent.push({ method: init?.method ?? 'GET', hasQuery: Boolean(body?.query ?? target.searchParams.get('query')) });
    return fetch(url, init);
  };
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
      new HttpLink({ uri: api, fetch: recording, headers: { authorization: `Bearer ${token}` } }),
    ),
  });
  const how = useGETForHashedQueries ? 'GET' : 'POST';
  // A query of its own per round, so the server has not seen its hash.
  const query = gql`query Persisted${how} { viewer { subject roles } programs(first: 2) { totalCount nodes { code } } }`;
  const first = await client.query({ query, fetchPolicy: 'network-only' });
  check(first.data?.viewer?.subject === 'apq-test@licensegraph.example', `${how}: the first query answers`, JSON.stringify(first));
  check(
    sent.length === 2 && !sent[0].hasQuery && sent[1].hasQuery,
    `${how}: hash alone, told PERSISTED_QUERY_NOT_FOUND, then the text`,
    JSON.stringify(sent),
  );
  const again = await client.query({ query, fetchPolicy: 'network-only' });
  check(again.data?.programs?.totalCount >= 2, `${how}: the hash alone runs it the next time`, JSON.stringify(again));
  check(sent.length === 3 && !sent[2].hasQuery && sent[2].method === how, `${how}: no text sent again`, JSON.stringify(sent));
}
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
