#!/usr/bin/env node
// fake-bigquery.mjs - a FAKE BigQuery REST server (node:http only, no npm
// dependencies) for llmgw's BigQuery engine tests. It speaks the request and
// response shapes of the BigQuery v2 REST API (jobs.query, jobs.getQueryResults,
// jobs.cancel, tables.get, Google error bodies) but has no SQL engine: answers
// are canned, chosen by a marker comment in the SQL (`/* fake:NAME */`) or by
// the exact text. No live BigQuery is involved anywhere. See README-bigquery.md.
//
// Run:   node tests/fake/fake-bigquery.mjs [PORT] [--host 127.0.0.1] [--token test-token]
//        PORT 0 (the default) picks a free port; prints "LISTENING <port>" when ready,
//        exits 0 on SIGTERM. Or import { startFakeBigQuery } in a node test.
//
// Routes (auth: "Authorization: Bearer <token>"; missing -> 401 reason "required",
// wrong -> 401 reason "authError", both status UNAUTHENTICATED):
//   POST /bigquery/v2/projects/{p}/queries                    jobs.query (QueryRequest body)
//   GET  /bigquery/v2/projects/{p}/queries/{jobId}            jobs.getQueryResults
//        ?pageToken=&maxResults=&timeoutMs=&location=&startIndex=
//   POST /bigquery/v2/projects/{p}/jobs/{jobId}/cancel?location=   jobs.cancel
//   GET  /bigquery/v2/projects/{p}/datasets/{d}/tables/{t}    tables.get (schema, numRows)
// A job looked up with a location other than its own is 404 notFound, as on BigQuery.
// useLegacySql other than false is answered like legacy SQL answers a GoogleSQL
// query: 400 invalidQuery. A non-dry query whose bytes billed (at least 10 MiB,
// BigQuery's minimum) exceed maximumBytesBilled is 400 bytesBilledLimitExceeded.
//
// Scenarios (marker `/* fake:NAME */` anywhere in the SQL; dry runs answer with
// the scenario's byte estimate and its schema, and never run anything):
//   types            one row with a value of every scalar type, one row of NULLs
//   paging           10 rows (id INTEGER, name STRING "row-N"); at most 4 rows a page
//                    (like BigQuery's 10 MB page cap), fewer when maxResults says so
//   pending          jobComplete:false from jobs.query and the first 2 polls of
//                    getQueryResults (each waits min(timeoutMs, 50) ms), then 3 rows
//   slow             never completes: every call long-polls min(timeoutMs, 10000) ms
//                    and answers jobComplete:false; jobs.cancel marks it cancelled
//   expensive        dry run estimates 12300000000 bytes (12.3 GB)
//   bytes=N          dry run estimates N bytes; then one row (n INTEGER "1")
//   invalid          400 invalidQuery "Syntax error: Unexpected identifier ..." (dry run too)
//   flaky-S-K        the first K non-dry jobs.query calls with this SQL get HTTP S
//                    (503 backendError / 500 internalError ...), then 2 rows
//   fail-S           every non-dry jobs.query gets HTTP S
//   forbidden        403 accessDenied (dry run too)
//   hang             the non-dry jobs.query never answers
//   big              one row whose STRING is 100000 bytes
//   repeated         a REPEATED STRING column (tags) and a RECORD column
//   (none)           "SELECT 1" -> one row f0_ = 1; the describe query shape
//                    SELECT DISTINCT `c` AS v FROM `p.d.t` WHERE `c` IS NOT NULL ORDER BY v LIMIT n
//                    is answered from the in-memory tables below; anything else is
//                    400 invalidQuery naming the missing canned answer.
//
// Control API (no auth):
//   GET /__requests    [{seq, method, path, query, headers, body, bodyText}] in arrival order
//   DELETE /__requests clears it (and the per-SQL flaky counters)
//   GET /__jobs        [{jobId, location, sql, polls, cancelled}]
//   GET /__health      200 ok

import fs from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export const TOKEN = 'test-token';
const MIN_BILLED = 10485760; // BigQuery bills at least 10 MiB per query
const DEFAULT_BYTES = 1048576;

// ---- the in-memory dataset -----------------------------------------------------------

const F = (name, type, mode = 'NULLABLE') => ({ name, type, mode });

// Column bytes a dry run reports for a DISTINCT scan, "as if at full size"; other
// columns cost 1000 bytes a row.
const COLUMN_BYTES = { 'skus.title': 25_000_000_000 };

export const TABLES = {
  categories: {
    fields: [F('category_id', 'INTEGER', 'REQUIRED'), F('parent_id', 'INTEGER'), F('name', 'STRING'),
      F('path', 'STRING'), F('depth', 'INTEGER')],
    rows: [
      [1, null, 'Furniture', 'Furniture', 1],
      [2, 1, 'Office Furniture', 'Furniture > Office Furniture', 2],
      [3, 2, 'Office Chairs', 'Furniture > Office Furniture > Office Chairs', 3],
      [4, 3, 'Ergonomic Office Chairs', 'Furniture > Office Furniture > Office Chairs > Ergonomic Office Chairs', 4],
      [5, null, 'Electronics', 'Electronics', 1],
      [6, 5, 'Laptops', 'Electronics > Laptops', 2],
    ],
  },
  skus: {
    fields: [F('sku_id', 'INTEGER', 'REQUIRED'), F('title', 'STRING'), F('brand', 'STRING'),
      F('category_id', 'INTEGER'), F('price_usd', 'NUMERIC'), F('color', 'STRING'), F('material', 'STRING'),
      F('launched_on', 'DATE'), F('is_active', 'BOOLEAN')],
    rows: [
      [1001, 'Aerotek Mesh Ergonomic Chair', 'Aerotek', 4, '249.99', 'Black', 'Mesh', '2023-04-01', true],
      [1002, 'Aerotek Leather Task Chair', 'Aerotek', 4, '319', 'Brown', 'Leather', '2022-11-15', true],
      [1003, 'Corvane Executive Chair', 'Corvane', 4, '189.5', 'Gray', 'Fabric', '2021-06-30', false],
      [1004, 'Lumio 14 Laptop', 'Lumio', 6, '899.00', 'Silver', 'Aluminum', '2024-01-10', true],
      [1005, 'Nordel Pro 16 Laptop', 'Nordel', 6, '1499.99', 'Gray', 'Aluminum', '2024-03-05', true],
      [1006, 'Quillon Air 13 Laptop', 'Quillon', 6, '749.25', 'Gold', 'Aluminum', '2023-09-20', true],
      [1007, 'Sorrel Kids Desk Chair', 'Sorrel', 3, '79.99', 'Blue', 'Plastic', '2022-02-02', true],
      [1008, 'Tevara Drafting Chair', 'Tevara', 3, '129.00', null, 'Mesh', '2020-08-08', false],
    ],
  },
  warehouses: {
    fields: [F('warehouse_id', 'INTEGER', 'REQUIRED'), F('code', 'STRING'), F('name', 'STRING'), F('city', 'STRING'),
      F('state', 'STRING'), F('region', 'STRING')],
    rows: [
      [1, 'WH-SEA-01', 'Seattle Fulfillment', 'Seattle', 'WA', 'West'],
      [2, 'WH-PHX-01', 'Phoenix Fulfillment', 'Phoenix', 'AZ', 'Southwest'],
      [3, 'WH-CHI-01', 'Chicago Fulfillment', 'Chicago', 'IL', 'Midwest'],
      [4, 'WH-ATL-01', 'Atlanta Fulfillment', 'Atlanta', 'GA', 'Southeast'],
      [5, 'WH-NYC-01', 'Newark Fulfillment', 'Newark', 'NJ', 'Northeast'],
      [6, 'WH-LAX-01', 'Ontario Fulfillment', 'Ontario', 'CA', 'West'],
    ],
  },
  inventory: {
    fields: [F('sku_id', 'INTEGER', 'REQUIRED'), F('warehouse_id', 'INTEGER', 'REQUIRED'), F('on_hand', 'INTEGER'),
      F('reserved', 'INTEGER'), F('reorder_point', 'INTEGER'), F('updated_at', 'TIMESTAMP')],
    rows: [
      [1001, 1, 40, 2, 10, '1.7093088E9'],
      [1001, 3, 0, 0, 10, '1.7093088E9'],
      [1004, 2, 12, 1, 5, '1.709395200123456E9'],
      [1005, 5, 3, 0, 5, '1.7094816E9'],
    ],
  },
};

// ---- canned results -------------------------------------------------------------------

const TYPES = {
  fields: [F('i', 'INTEGER'), F('i64', 'INT64'), F('n', 'NUMERIC'), F('bn', 'BIGNUMERIC'), F('f', 'FLOAT'),
    F('f64', 'FLOAT64'), F('b', 'BOOLEAN'), F('b2', 'BOOL'), F('s', 'STRING'), F('d', 'DATE'),
    F('ts', 'TIMESTAMP'), F('ts2', 'TIMESTAMP'), F('dt', 'DATETIME'), F('t', 'TIME'), F('by', 'BYTES')],
  rows: [
    ['42', '-9223372036854775808', '19.99', '123456789012345678901234567890.123456789', '3.5', 'NaN',
      'true', 'false', 'h\u00e9llo "q"', '2024-02-29', '1.7093088E9', '-1.5E0', '2024-02-29T12:34:56.5',
      '12:34:56', 'AQID'],
    Array(15).fill(null),
  ],
};

function pagingRows() {
  const rows = [];
  for (let i = 1; i <= 10; i++) rows.push([String(i), `row-${i}`]);
  return rows;
}

function cellsOf(row) {
  return { f: row.map((v) => ({ v: v === null ? null : (typeof v === 'object' ? v : String(v)) })) };
}

/** The scenario for one SQL text: {name, arg, bytes, fields, rows, pageSize}. */
export function scenarioOf(sql) {
  const m = /\/\*\s*fake:([A-Za-z0-9=._-]+)\s*\*\//.exec(sql);
  const name = m ? m[1] : null;
  const base = { name, bytes: DEFAULT_BYTES, pageSize: Infinity };
  if (name === 'types') return { ...base, fields: TYPES.fields, rows: TYPES.rows };
  if (name === 'paging') return { ...base, fields: [F('id', 'INTEGER'), F('name', 'STRING')], rows: pagingRows(), pageSize: 4 };
  if (name === 'pending') return { ...base, fields: [F('id', 'INTEGER')], rows: [['1'], ['2'], ['3']], polls: 2 };
  if (name === 'slow') return { ...base, fields: [F('id', 'INTEGER')], rows: [], never: true };
  if (name === 'expensive') return { ...base, bytes: 12_300_000_000, fields: [F('id', 'INTEGER')], rows: [['1']] };
  if (name === 'big') return { ...base, fields: [F('s', 'STRING')], rows: [['x'.repeat(100000)]] };
  if (name === 'repeated') {
    return { ...base, fields: [F('tags', 'STRING', 'REPEATED'), { name: 'r', type: 'RECORD', mode: 'NULLABLE', fields: [F('a', 'INTEGER')] }],
      rows: [[[{ v: 'a' }, { v: 'b' }], { f: [{ v: '1' }] }]] };
  }
  if (['invalid', 'forbidden', 'hang'].includes(name)) return { ...base, fields: [F('id', 'INTEGER')], rows: [['1']] };
  let a = name && /^bytes=(\d+)$/.exec(name);
  if (a) return { ...base, bytes: Number(a[1]), fields: [F('n', 'INTEGER')], rows: [['1']] };
  a = name && /^flaky-(\d{3})-(\d+)$/.exec(name);
  if (a) return { ...base, name: 'flaky', status: Number(a[1]), times: Number(a[2]), fields: [F('id', 'INTEGER')], rows: [['1'], ['2']] };
  a = name && /^fail-(\d{3})$/.exec(name);
  if (a) return { ...base, name: 'fail', status: Number(a[1]), fields: [F('id', 'INTEGER')], rows: [['1']] };
  if (name === null && sql.trim() === 'SELECT 1') return { ...base, fields: [F('f0_', 'INTEGER')], rows: [['1']] };
  if (name === null) return distinctScenario(sql) ?? { ...base, name: 'unknown' };
  return { ...base, name: 'unknown' };
}

function distinctScenario(sql) {
  const m = /^SELECT DISTINCT `(\w+)` AS v FROM `([\w.:-]+)\.(\w+)\.(\w+)` WHERE `(\w+)` IS NOT NULL ORDER BY v LIMIT (\d+)$/.exec(sql.trim());
  if (!m || m[1] !== m[5]) return null;
  const [, col, , , table, , limit] = m;
  const t = TABLES[table];
  const idx = t ? t.fields.findIndex((f) => f.name === col) : -1;
  if (idx < 0) return { name: 'badname', message: `Unrecognized name: ${col} at [1:17]` };
  const vals = [...new Set(t.rows.map((r) => r[idx]).filter((v) => v !== null).map(String))].sort();
  return { name: 'distinct', bytes: COLUMN_BYTES[`${table}.${col}`] ?? 1000 * t.rows.length, pageSize: Infinity,
    fields: [F('v', t.fields[idx].type)], rows: vals.slice(0, Number(limit)).map((v) => [v]) };
}

// ---- error bodies ---------------------------------------------------------------------

const STATUS = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  500: 'INTERNAL', 502: 'BAD_GATEWAY', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
const REASON = { 500: 'internalError', 502: 'backendError', 503: 'backendError', 504: 'backendError' };

/** A Google API error body: {error:{code, message, errors:[{message, domain, reason, ...}], status}}. */
export function errorBody(code, reason, message, extra = {}) {
  return { error: { code, message, errors: [{ message, domain: 'global', reason, ...extra }], status: STATUS[code] ?? 'UNKNOWN' } };
}

function serverError(status) {
  const msg = status === 503 ? 'Error encountered during execution. Retrying may solve the problem.'
    : 'An internal error occurred and the request could not be completed. Retrying may solve the problem.';
  return errorBody(status, REASON[status] ?? 'backendError', msg);
}

// ---- the server -----------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sendJson(res, status, body) {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startFakeBigQuery({ port = 0, host = '127.0.0.1', token = TOKEN } = {}) {
  const requests = [];
  const jobs = new Map();
  const flakyCount = new Map();
  const sockets = new Set();
  let seq = 0;
  let jobSeq = 0;

  const pageToken = (jobId, offset) => `PT+${offset}/${jobId}==`;
  const offsetOf = (tok, jobId) => {
    const m = /^PT\+(\d+)\/(.+)==$/.exec(tok);
    return m && m[2] === jobId ? Number(m[1]) : -1;
  };

  function jobRef(project, job) {
    return { projectId: project, jobId: job.jobId, location: job.location };
  }

  /** A complete page of job's rows from offset, at most maxResults rows. */
  function page(project, job, offset, maxResults, kind) {
    const sc = job.sc;
    const size = Math.min(sc.pageSize, maxResults > 0 ? maxResults : Infinity);
    const rows = sc.rows.slice(offset, offset + size);
    const out = { kind, schema: { fields: sc.fields }, jobReference: jobRef(project, job),
      totalRows: String(sc.rows.length), rows: rows.map(cellsOf), totalBytesProcessed: String(sc.bytes),
      jobComplete: true, cacheHit: false };
    if (kind === 'bigquery#getQueryResultsResponse') out.etag = `"fake-${job.jobId}-${offset}"`;
    if (rows.length === 0) delete out.rows;
    if (offset + rows.length < sc.rows.length) out.pageToken = pageToken(job.jobId, offset + rows.length);
    return out;
  }

  function incomplete(project, job, kind) {
    const out = { kind, jobReference: jobRef(project, job), jobComplete: false };
    if (kind === 'bigquery#getQueryResultsResponse') out.etag = `"fake-${job.jobId}-pending"`;
    return out;
  }

  async function longPoll(res, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end && !res.destroyed) await sleep(Math.min(20, end - Date.now()));
  }

  async function jobsQuery(res, project, body) {
    if (!body || typeof body !== 'object' || typeof body.query !== 'string' || body.query === '') {
      return sendJson(res, 400, errorBody(400, 'invalid', 'Required parameter is missing: query'));
    }
    const sql = body.query;
    const sc = scenarioOf(sql);
    if (body.useLegacySql !== false) {
      return sendJson(res, 400, errorBody(400, 'invalidQuery',
        'Invalid table name: `x.y.z` [Try using standard SQL (https://cloud.google.com/bigquery/docs/reference/standard-sql/enabling-standard-sql)].',
        { location: 'query', locationType: 'other' }));
    }
    if (sc.name === 'invalid') {
      return sendJson(res, 400, errorBody(400, 'invalidQuery', 'Syntax error: Unexpected identifier "FORM" at [1:10]',
        { location: 'q', locationType: 'parameter' }));
    }
    if (sc.name === 'badname') return sendJson(res, 400, errorBody(400, 'invalidQuery', sc.message, { location: 'q', locationType: 'parameter' }));
    if (sc.name === 'unknown') {
      return sendJson(res, 400, errorBody(400, 'invalidQuery',
        'fake-bigquery has no canned answer for this SQL; add a /* fake:NAME */ marker', { location: 'q', locationType: 'parameter' }));
    }
    if (sc.name === 'forbidden') {
      return sendJson(res, 403, errorBody(403, 'accessDenied',
        `Access Denied: Project ${project}: User does not have bigquery.jobs.create permission in project ${project}.`));
    }
    const location = typeof body.location === 'string' && body.location ? body.location : 'US';
    if (body.dryRun === true) {
      return sendJson(res, 200, { kind: 'bigquery#queryResponse', schema: { fields: sc.fields },
        jobReference: { projectId: project, location }, totalBytesProcessed: String(sc.bytes), jobComplete: true, cacheHit: false });
    }
    if (sc.name === 'flaky') {
      const n = (flakyCount.get(sql) ?? 0) + 1;
      flakyCount.set(sql, n);
      if (n <= sc.times) return sendJson(res, sc.status, serverError(sc.status));
    }
    if (sc.name === 'fail') return sendJson(res, sc.status, sc.status >= 500 ? serverError(sc.status) : errorBody(sc.status, 'invalid', `fake failure ${sc.status}`));
    if (sc.name === 'hang') return longPoll(res, 3_600_000);
    const billed = Math.max(sc.bytes, MIN_BILLED);
    if (body.maximumBytesBilled !== undefined && billed > Number(body.maximumBytesBilled)) {
      return sendJson(res, 400, errorBody(400, 'bytesBilledLimitExceeded',
        `Query exceeded limit for bytes billed: ${Number(body.maximumBytesBilled)}. ${billed} or higher required.`));
    }
    const job = { jobId: `job_fake${String(++jobSeq).padStart(4, '0')}`, location, sql, sc, polls: 0, cancelled: false };
    jobs.set(job.jobId, job);
    const wait = Number.isFinite(body.timeoutMs) ? body.timeoutMs : 10000;
    if (sc.never) {
      await longPoll(res, Math.min(wait, 10000));
      return sendJson(res, 200, incomplete(project, job, 'bigquery#queryResponse'));
    }
    if (sc.polls) return sendJson(res, 200, incomplete(project, job, 'bigquery#queryResponse'));
    const max = Number.isFinite(body.maxResults) ? body.maxResults : 0;
    return sendJson(res, 200, page(project, job, 0, max, 'bigquery#queryResponse'));
  }

  function jobOr404(res, project, jobId, location) {
    const job = jobs.get(jobId);
    if (!job || (location ?? 'US') !== job.location) {
      sendJson(res, 404, errorBody(404, 'notFound', `Not found: Job ${project}:${location ?? 'US'}.${jobId}`));
      return null;
    }
    return job;
  }

  async function getQueryResults(res, project, jobId, q) {
    const job = jobOr404(res, project, jobId, q.get('location') ?? undefined);
    if (!job) return;
    const wait = q.has('timeoutMs') ? Number(q.get('timeoutMs')) : 10000;
    if (job.sc.never) {
      await longPoll(res, Math.min(wait, 10000));
      return sendJson(res, 200, incomplete(project, job, 'bigquery#getQueryResultsResponse'));
    }
    if (job.sc.polls && job.polls < job.sc.polls) {
      job.polls++;
      await longPoll(res, Math.min(wait, 50));
      return sendJson(res, 200, incomplete(project, job, 'bigquery#getQueryResultsResponse'));
    }
    let offset = q.has('startIndex') ? Number(q.get('startIndex')) : 0;
    if (q.has('pageToken')) {
      offset = offsetOf(q.get('pageToken'), jobId);
      if (offset < 0) return sendJson(res, 400, errorBody(400, 'invalid', `Invalid page token: ${q.get('pageToken')}`));
    }
    const max = q.has('maxResults') ? Number(q.get('maxResults')) : 0;
    return sendJson(res, 200, page(project, job, offset, max, 'bigquery#getQueryResultsResponse'));
  }

  function cancel(res, project, jobId, q) {
    const job = jobOr404(res, project, jobId, q.get('location') ?? undefined);
    if (!job) return;
    job.cancelled = true;
    return sendJson(res, 200, { kind: 'bigquery#jobCancelResponse', job: { kind: 'bigquery#job',
      id: `${project}:${job.location}.${jobId}`, jobReference: jobRef(project, job),
      status: { state: 'DONE', errorResult: { reason: 'stopped', message: 'Job execution was cancelled: User requested cancellation' } } } });
  }

  function tablesGet(res, project, dataset, tableId) {
    const t = dataset === 'retail' ? TABLES[tableId] : undefined;
    if (!t) {
      const what = dataset === 'retail' ? `Table ${project}:${dataset}.${tableId}` : `Dataset ${project}:${dataset}`;
      return sendJson(res, 404, errorBody(404, 'notFound', `Not found: ${what}`));
    }
    return sendJson(res, 200, { kind: 'bigquery#table', etag: `"fake-${tableId}"`, id: `${project}:${dataset}.${tableId}`,
      tableReference: { projectId: project, datasetId: dataset, tableId }, schema: { fields: t.fields },
      numBytes: String(1000 * t.rows.length), numLongTermBytes: '0', numRows: String(t.rows.length),
      creationTime: '1704067200000', lastModifiedTime: '1709308800000', type: 'TABLE', location: 'US' });
  }

  function checkAuth(req) {
    const h = req.headers.authorization;
    if (!h) {
      return errorBody(401, 'required', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        { location: 'Authorization', locationType: 'header' });
    }
    if (h !== `Bearer ${token}`) {
      return errorBody(401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        { location: 'Authorization', locationType: 'header' });
    }
    return null;
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://fake');
    const path = url.pathname;
    const bodyText = await readBody(req);
    if (path === '/__health') return sendJson(res, 200, { ok: true });
    if (path === '/__requests') {
      if (req.method === 'DELETE') {
        requests.length = 0;
        flakyCount.clear();
      }
      return sendJson(res, 200, req.method === 'DELETE' ? { ok: true } : requests);
    }
    if (path === '/__jobs') {
      return sendJson(res, 200, [...jobs.values()].map((j) => ({ jobId: j.jobId, location: j.location, sql: j.sql,
        polls: j.polls, cancelled: j.cancelled })));
    }
    let body = null;
    try {
      body = bodyText ? JSON.parse(bodyText) : null;
    } catch {
      body = null;
    }
    requests.push({ seq: ++seq, method: req.method, path, query: Object.fromEntries(url.searchParams), headers: req.headers,
      body, bodyText });
    if (bodyText && body === null) {
      return sendJson(res, 400, errorBody(400, 'parseError', 'Invalid JSON payload received.'));
    }
    const authErr = checkAuth(req);
    if (authErr) return sendJson(res, 401, authErr);
    const seg = path.split('/').slice(1).map(decodeURIComponent);
    if (seg[0] !== 'bigquery' || seg[1] !== 'v2' || seg[2] !== 'projects' || !seg[3]) {
      return sendJson(res, 404, errorBody(404, 'notFound', `Not found: ${path}`));
    }
    const project = seg[3];
    const rest = seg.slice(4);
    if (req.method === 'POST' && rest.length === 1 && rest[0] === 'queries') return jobsQuery(res, project, body);
    if (req.method === 'GET' && rest.length === 2 && rest[0] === 'queries') return getQueryResults(res, project, rest[1], url.searchParams);
    if (req.method === 'POST' && rest.length === 3 && rest[0] === 'jobs' && rest[2] === 'cancel') return cancel(res, project, rest[1], url.searchParams);
    if (req.method === 'GET' && rest.length === 4 && rest[0] === 'datasets' && rest[2] === 'tables') return tablesGet(res, project, rest[1], rest[3]);
    return sendJson(res, 404, errorBody(404, 'notFound', `Not found: ${req.method} ${path}`));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(500, 'internalError', `fake-bigquery: ${err}`));
      else res.destroy();
    });
  });
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 30000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = server.address().port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    requests,
    jobs,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function main(argv) {
  let port = 0;
  let host = '127.0.0.1';
  let token = TOKEN;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--host') host = argv[++i];
    else if (argv[i] === '--token') token = argv[++i];
    else if (/^\d+$/.test(argv[i])) port = Number(argv[i]);
    else {
      process.stderr.write('usage: fake-bigquery.mjs [PORT] [--host H] [--token T]\n');
      process.exit(2);
    }
  }
  const fake = await startFakeBigQuery({ port, host, token });
  process.stdout.write(`LISTENING ${fake.port}\n`);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function isMain() {
  try {
    return !!process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`fake-bigquery: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}
