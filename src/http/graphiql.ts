/**
 * GraphiQL, fully offline: the page and its scripts come from node_modules through this server
 * (no CDN anywhere), under /graphql/assets/. Subscriptions work through GraphiQL's bundled
 * graphql-ws client (`subscriptionUrl`), which sends the headers editor's JSON as connection_init
 * payload, so the same `{"Authorization": "Bearer …"}` authenticates queries and subscriptions.
 */
import { dirname, join } from 'node:path';
import type { Request, Response, Router } from 'express';
import express from 'express';

/** URL prefix of the GraphiQL assets. */
export const ASSET_PREFIX = '/graphql/assets';

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** Served file name → absolute path in node_modules. */
function assetFiles(): Record<string, string> {
  return {
    'react.production.min.js': join(packageDir('react'), 'umd/react.production.min.js'),
    'react-dom.production.min.js': join(packageDir('react-dom'), 'umd/react-dom.production.min.js'),
    'graphiql.min.js': join(packageDir('graphiql'), 'dist/index.umd.js'),
    'graphiql.min.css': join(packageDir('graphiql'), 'dist/style.css'),
  };
}

/** The page's own script (external, so the CSP can forbid inline scripts). */
const INIT_JS = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('wavegate-config').textContent);
  var url = location.origin + location.pathname.replace(/\\/+$/, '');
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: url.replace(/^http/, 'ws') });
  var hint = config.authEnabled
    ? '# Paste a bearer token into the Headers tab below, e.g.\\n' +
      '#   { "Authorization": "Bearer eyJhbGciOi..." }\\n' +
      '# Get one with: wavegate token --sub rider-1 --role rider (roles and claims: schema/wavegate.yaml).\\n' +
      '# The same header authenticates subscriptions (sent in connection_init).\\n'
    : '# Auth is off: every request acts as ops.\\n';
  var query = hint + '\\nquery RecentTrips {\\n  trips(first: 5) {\\n    edges {\\n      node { id status requestedAt fare { amount currency } driver { id rating } }\\n    }\\n    pageInfo { hasNextPage endCursor }\\n  }\\n}\\n';
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: query,
    defaultHeaders: config.authEnabled ? '{\\n  "Authorization": "Bearer "\\n}' : '',
    defaultEditorToolsVisibility: config.authEnabled ? 'headers' : false,
    shouldPersistHeaders: false
  }));
})();
`;

/** Content-Security-Policy of the page: only this origin (data: for the fonts GraphiQL inlines). */
const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "font-src 'self' data:", "connect-src 'self' ws: wss:", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

/** The GraphiQL HTML page. */
export function graphiqlHtml(authEnabled: boolean): string {
  const a = ASSET_PREFIX;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wavegate GraphiQL</title>
<link rel="stylesheet" href="${a}/graphiql.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="wavegate-config" type="application/json">${JSON.stringify({ authEnabled })}</script>
<script src="${a}/react.production.min.js"></script>
<script src="${a}/react-dom.production.min.js"></script>
<script src="${a}/graphiql.min.js"></script>
<script src="${a}/graphiql-init.js"></script>
</body>
</html>
`;
}

/** True for a browser navigating to /graphql (GET, asks for HTML, no GraphQL query in the URL). */
export function wantsGraphiql(req: Request): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && req.query['query'] === undefined;
}

/** Router for the assets (mounted at {@link ASSET_PREFIX}). */
export function graphiqlAssets(): Router {
  const files = assetFiles();
  const router = express.Router();
  router.get('/graphiql-init.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(INIT_JS);
  });
  router.get('/:file', (req, res, next) => {
    const path = files[String(req.params['file'])];
    if (path === undefined) return next();
    res.sendFile(path, { maxAge: '1h' }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });
  router.use((_req, res) => void res.status(404).type('text').send('Not found'));
  return router;
}

/** Sends the page. */
export function sendGraphiql(res: Response, authEnabled: boolean): void {
  res.set('Content-Security-Policy', CSP).set('Cache-Control', 'no-cache').type('html').send(graphiqlHtml(authEnabled));
}
