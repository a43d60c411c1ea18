// licensegraph's GraphiQL page: token, role and examples bar around the
// GraphiQL component. Everything here is served by the server itself (no
// other origin), under a Content-Security-Policy that allows only it.
'use strict';
(function () {
  const KEY = 'licensegraph.token';
  const token = document.getElementById('token');
  const remember = document.getElementById('remember');
  const role = document.getElementById('role');
  const example = document.getElementById('example');
  const who = document.getElementById('who');
  // GraphiQL's dialogs and menus add <style> elements; the page's CSP
  // admits them only with this response's nonce.
  const nonce = document.querySelector('meta[name="style-nonce"]').content;
  const createElement = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    const element = createElement(tag, options);
    if (String(tag).toLowerCase() === 'style') element.setAttribute('nonce', nonce);
    return element;
  };
  document.getElementById('bar').addEventListener('submit', (event) => event.preventDefault());

  // The token lives in sessionStorage (this tab, until it closes) unless
  // "remember" is ticked, which keeps it in localStorage too.
  const remembered = localStorage.getItem(KEY);
  token.value = sessionStorage.getItem(KEY) ?? remembered ?? '';
  remember.checked = remembered !== null;
  function store() {
    const value = token.value.trim();
    if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
    if (value && remember.checked) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY);
  }

  // Shows who the token says it is (read, not verified: the server verifies).
  function describe(value) {
    if (!value) return 'anonymous';
    try {
      const payload = JSON.parse(atob(value.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      const roles = [].concat(payload.roles || payload.role || []).join('+');
      const expires = payload.exp ? new Date(payload.exp * 1000) : null;
      const expired = expires && expires < new Date() ? ' (expired)' : '';
      return `${payload.sub || '?'} · ${roles || 'no role'}${expires ? ' · until ' + expires.toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : ''}${expired}`;
    } catch (_) {
      return 'not a JWT';
    }
  }

  // A new fetcher whenever the token or role changes: GraphiQL fetches the
  // schema again for it (in production, introspection needs a token).
  function fetcherFor(bearer, actAs) {
    // Subscriptions go over a WebSocket (graphql-transport-ws, the vendored
    // graphql-ws client), authenticated in connection_init.
    let live = null;
    function subscribe(params) {
      if (!live) {
        const url = location.origin.replace(/^http/, 'ws') + '/graphql';
        live = graphqlWs.createClient({ url, lazy: true, connectionParams: bearer ? { authorization: 'Bearer ' + bearer } : {} });
      }
      return live.iterate(params);
    }
    function isSubscription(params) {
      const name = params.operationName;
      const ops = [...String(params.query).matchAll(/(^|[^\w])(query|mutation|subscription)\s*(\w*)/g)];
      const op = ops.find((m) => !name || m[3] === name) || ops[0];
      return !!op && op[2] === 'subscription';
    }
    return async function fetcher(params, options) {
      if (isSubscription(params)) return subscribe(params);
      const headers = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...((options && options.headers) || {}),
      };
      if (bearer) headers.authorization = 'Bearer ' + bearer;
      if (actAs) headers['x-licensegraph-role'] = actAs;
      const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify(params) });
      return response.json();
    };
  }

  const defaultQuery = `# Welcome to licensegraph. Paste a bearer token above to act as a user;
# the Examples list holds the README's operations.
query Start {
  viewer { authenticated subject roles }
  programs { totalCount nodes { code name kind } }
}
`;
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  let state = { bearer: null, actAs: null, fetcher: null, query: undefined };
  function render() {
    const bearer = token.value.trim();
    const actAs = role.value;
    if (bearer !== state.bearer || actAs !== state.actAs) {
      state = { ...state, bearer, actAs, fetcher: fetcherFor(bearer, actAs) };
    }
    who.textContent = describe(bearer) + (actAs ? ' as ' + actAs : '');
    root.render(React.createElement(GraphiQL, {
      fetcher: state.fetcher,
      defaultQuery,
      query: state.query,
      shouldPersistHeaders: false,
    }));
  }
  token.addEventListener('input', () => { store(); render(); });
  remember.addEventListener('change', () => { store(); });
  role.addEventListener('change', render);
  example.addEventListener('change', () => {
    if (example.value !== '') {
      state.query = examples[Number(example.value)].source;
      render();
    }
  });

  let examples = [];
  fetch('/graphiql/examples.json')
    .then((response) => response.json())
    .then((list) => {
      examples = list;
      list.forEach((item, index) => example.add(new Option(item.title, String(index))));
    })
    .catch(() => {});
  render();
})();
