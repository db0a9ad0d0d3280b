// The osscb-emulator dashboard: the journal from /__osscb/events (server-sent
// events), the objects from /__osscb/objects and the fault controls
// (POST /__osscb/faults). Text is only ever set with textContent.
'use strict';

const MAX_ROWS = 500;
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function statusClass(status) {
  if (status >= 200 && status < 300) return status === 203 ? 'status-warn' : 'status-ok';
  return 'status-err';
}

function details(summary, text) {
  const box = el('details');
  box.append(el('summary', summary), el('pre', text));
  return box;
}

let requests = 0;
function addRequest(e) {
  requests += 1;
  $('request-count').textContent = requests;
  const row = el('tr');
  row.className = 'request';
  row.dataset.requestId = e.request_id;
  const sig = el('td');
  if (e.signature.verdict === 'ok') sig.append(el('span', 'ok', 'status-ok'));
  else if (e.signature.verdict === 'refused') {
    sig.append(el('span', 'refused: ' + e.signature.code, 'status-err'));
    if (e.signature.string_to_sign !== undefined) {
      sig.append(details('string to sign', e.signature.string_to_sign));
    }
  } else sig.append(el('span', '–'));
  row.append(
    el('td', clock(e.time)),
    el('td', e.method),
    el('td', e.path, 'path'),
    el('td', e.status === 0 ? 'dropped' : e.status, statusClass(e.status)),
    sig,
    el('td', e.request_id, 'mono'),
  );
  const body = $('requests');
  body.prepend(row);
  while (body.children.length > MAX_ROWS) body.lastChild.remove();
  if (e.method !== 'GET' && e.method !== 'HEAD') refreshObjects();
}

let deliveries = 0;
function addDelivery(e) {
  deliveries += 1;
  $('delivery-count').textContent = deliveries;
  const box = el('div', null, e.uploader_status === 200 ? 'delivery' : 'delivery failed');
  box.dataset.requestId = e.request_id;
  const head = el('div', null, 'head');
  head.append(
    el('span', clock(e.time)),
    el('strong', e.bucket + '/' + e.key, 'mono'),
    el('span', 'uploader got ' + e.uploader_status, statusClass(e.uploader_status) + ' uploader-status'),
  );
  box.append(head);
  for (const a of e.attempts) {
    const line = el('div');
    line.append(
      el('span', 'POST ' + a.url + ' → ', 'mono'),
      el('span', a.status === null ? 'no answer' : String(a.status),
        a.status === null ? 'status-err' : statusClass(a.status) + ' app-status'),
    );
    if (a.error) line.append(el('span', ' ' + a.error, 'status-err'));
    box.append(line);
    if (a.answer) box.append(el('pre', a.answer, 'answer'));
    const request = a.headers.map(([name, value]) => name + ': ' + value).join('\n') + '\n\n' + a.body;
    box.append(details('signed request', request));
  }
  const list = $('deliveries');
  const empty = list.querySelector('.empty');
  if (empty) empty.remove();
  list.prepend(box);
  while (list.children.length > MAX_ROWS) list.lastChild.remove();
}

let pending = null;
function refreshObjects() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    try {
      const response = await fetch('/__osscb/objects', { cache: 'no-store' });
      showObjects(await response.json());
    } catch (_) { /* the next event retries */ }
  }, 200);
}

function showObjects(listing) {
  const box = $('objects');
  box.replaceChildren();
  if (listing.buckets.length === 0) box.append(el('p', 'No object yet.', 'empty'));
  for (const bucket of listing.buckets) {
    box.append(el('h3', bucket.bucket + ' (' + bucket.objects.length + ')'));
    const table = el('table');
    const head = el('tr');
    for (const name of ['key', 'size', 'ETag', 'type', 'modified']) head.append(el('th', name));
    table.append(head);
    for (const o of bucket.objects) {
      const row = el('tr', null, 'object');
      row.append(el('td', o.key, 'path'), el('td', o.size), el('td', o.etag, 'mono'),
        el('td', o.content_type), el('td', o.last_modified));
      table.append(row);
    }
    box.append(table);
  }
  if (listing.truncated) box.append(el('p', 'More objects not shown.', 'empty'));
}

function connect() {
  const source = new EventSource('/__osscb/events');
  source.onopen = () => {
    // A reconnection replays the journal: start from empty.
    $('requests').replaceChildren();
    $('deliveries').replaceChildren(el('p', 'No callback yet.', 'empty'));
    requests = 0; deliveries = 0;
    $('live').textContent = 'live';
    $('live').className = 'badge on';
    refreshObjects();
  };
  source.onerror = () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'badge off';
  };
  source.onmessage = (message) => {
    const e = JSON.parse(message.data);
    if (e.kind === 'request') addRequest(e);
    else if (e.kind === 'delivery') addDelivery(e);
  };
}

async function control(body) {
  const headers = { 'Content-Type': 'application/json' };
  const token = $('token').value;
  if (token) headers.Authorization = 'Bearer ' + token;
  const out = $('fault-result');
  try {
    const response = await fetch('/__osscb/faults', { method: 'POST', headers, body: JSON.stringify(body) });
    out.textContent = response.ok ? 'armed' : (await response.text());
    out.className = response.ok ? 'status-ok' : 'status-err';
  } catch (e) {
    out.textContent = String(e);
    out.className = 'status-err';
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('fail').onclick = () => control({
    fail_next: { count: Number($('fail-count').value), status: Number($('fail-status').value) },
  });
  $('drop').onclick = () => control({ drop_next: 1 });
  $('delay').onclick = () => control({ delay_next: { count: 1, ms: Number($('delay-ms').value) } });
  $('lose').onclick = () => control({ lose_response_next: 1 });
  $('clear').onclick = () => control({ clear: true });
  connect();
});
