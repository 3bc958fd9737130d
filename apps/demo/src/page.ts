/** The dashboard: one static HTML page that polls /api/stats. No build step, no framework. */
import { SUBPROTOCOLS } from '@protoplex/core';

export interface ServedId {
  readonly id: string;
  readonly adapter: string;
  readonly path: string;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPage(served: readonly ServedId[], origin: string): string {
  const byId = new Map(served.map((s) => [s.id, s]));
  const rows = SUBPROTOCOLS.map((record) => {
    const s = byId.get(record.id);
    const ref = record.references.find((r) => r.type === 'rfc' || r.type === 'uri');
    const link = ref ? (ref.type === 'rfc' ? `https://www.rfc-editor.org/rfc/${ref.data}` : ref.data) : undefined;
    return `<tr class="${s ? 'served' : ''}"><td><code>${escape(record.id)}</code></td><td>${escape(record.commonName)}</td><td>${
      link ? `<a href="${escape(link)}">${escape(ref!.type === 'rfc' ? ref!.data.toUpperCase() : 'spec')}</a>` : ''
    }</td><td>${s ? `<b>${escape(s.adapter)}</b> on <code>${escape(s.path)}</code>` : ''}</td><td class="count" data-id="${escape(record.id)}">${s ? '0' : ''}</td></tr>`;
  }).join('\n');
  const unregistered = served
    .filter((s) => !SUBPROTOCOLS.some((r) => r.id === s.id))
    .map((s) => `<tr class="served"><td><code>${escape(s.id)}</code></td><td><i>not IANA-registered</i></td><td></td><td><b>${escape(s.adapter)}</b> on <code>${escape(s.path)}</code></td><td class="count" data-id="${escape(s.id)}">0</td></tr>`)
    .join('\n');
  const ws = origin.replace(/^http/, 'ws');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protoplex demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d2330}
h1{margin-bottom:.2rem} .sub{color:#5b6475;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem} th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e4e7ee;vertical-align:top}
tr.served{background:#eef7ee} td.count{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
.card{border:1px solid #d8dce5;border-radius:8px;padding:.75rem 1rem} .card h2{margin:.2rem 0 .5rem;font-size:1.05rem}
code{background:#f3f4f7;padding:0 .25rem;border-radius:3px} pre{background:#f3f4f7;padding:.5rem;overflow:auto}
button{cursor:pointer} .muted{color:#5b6475}
</style></head><body>
<h1>Protoplex demo</h1>
<p class="sub">Every adapter on one port. Connections: <b id="total">0</b> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/api/stats">/api/stats</a></p>
<h2>Try it</h2>
<pre>
# MQTT (MQTT.js):   npx mqtt sub -l ws -h 127.0.0.1 -p ${escape(new URL(origin).port || '80')} -t 'demo/#' -v
# STOMP (stompjs):  brokerURL ${escape(ws)}/  subscribe /topic/demo.#   (v12.stomp, v11.stomp, v10.stomp)
# OCPP station:     ${escape(ws)}/ocpp/CP-1   with Sec-WebSocket-Protocol ocpp1.6, ocpp2.0.1 or ocpp2.1
# lines (template): wscat -s lines.protoplex.dev -c ${escape(ws)}/   then  SUB demo.#  /  PUB demo.hello hi
# WAMP (autobahn):  new autobahn.Connection({ url: '${escape(ws)}/', realm: 'realm1' })   subscribe demo.a, call wamp.session.count
# SIP (JsSIP):      new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface('${escape(ws)}/')], uri: 'sip:alice@example.com', password: 'alice' })
#                   MESSAGE sip:bob@example.com, call bob; MESSAGE sip:chat@example.com publishes on sip/chat
</pre>
<p class="muted">Topics cross protocols through the bus: an MQTT publish on <code>demo/a</code> reaches STOMP <code>/topic/demo.a</code>,
lines <code>demo.a</code> and WAMP <code>demo.a</code> (realm <code>realm1</code>); OCPP station traffic appears on <code>ocpp/cp/{identity}/{Action}</code>.</p>
<div class="cards">
<div class="card"><h2>MQTT clients</h2><div id="mqtt" class="muted">none</div></div>
<div class="card"><h2>STOMP sessions and destinations</h2><div id="stomp" class="muted">none</div></div>
<div class="card"><h2>OCPP stations</h2><div id="ocpp" class="muted">none</div></div>
<div class="card"><h2>WAMP sessions, subscriptions and registrations</h2><div id="wamp" class="muted">none</div></div>
<div class="card"><h2>SIP registrations and recent calls</h2><div id="sip" class="muted">none</div></div>
</div>
<h2>IANA WebSocket Subprotocol Name Registry</h2>
<table><thead><tr><th>id</th><th>name</th><th>spec</th><th>served by</th><th>connections</th></tr></thead><tbody>
${rows}
${unregistered}
</tbody></table>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const list = (items, render) => items.length ? '<ul>' + items.map(render).join('') + '</ul>' : 'none';
// Not command(): inline handlers resolve names on the element first, and Chromium buttons have
// a command property that would hide the function.
async function sendCommand(identity, action) {
  const payload = action === 'Reset' ? (document.querySelector('[data-v="' + identity + '"]').dataset.p === 'ocpp1.6' ? { type: 'Soft' } : { type: 'Immediate' }) : {};
  const res = await fetch('/api/ocpp/' + encodeURIComponent(identity) + '/' + action, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  alert(action + ' → ' + res.status + ' ' + await res.text());
}
async function refresh() {
  try {
    const s = await (await fetch('/api/stats')).json();
    document.getElementById('total').textContent = s.connections;
    for (const cell of document.querySelectorAll('td.count')) cell.textContent = cell.textContent === '' ? '' : (s.bySubprotocol[cell.dataset.id] ?? 0);
    if (s.mqtt) document.getElementById('mqtt').innerHTML = list(s.mqtt.clients, (c) => '<li><code>' + esc(c.clientId) + '</code> v' + c.version + ' ' + c.subscriptions.map((t) => '<code>' + esc(t) + '</code>').join(' ') + '</li>') + '<p>retained ' + s.mqtt.retained + ' · in ' + s.mqtt.messagesIn + ' · out ' + s.mqtt.messagesOut + '</p>';
    if (s.stomp) document.getElementById('stomp').innerHTML = '<p>Sessions</p>' + list(s.stomp.sessions, (x) => '<li>' + esc(x.id) + ' ' + esc(x.version) + ' ' + x.subscriptions.map((t) => '<code>' + esc(t.destination) + '</code>').join(' ') + '</li>') + '<p>Destinations</p>' + list(s.stomp.destinations, (d) => '<li><code>' + esc(d.destination) + '</code> ' + d.kind + ' · ' + d.subscribers + ' subscribers · ' + d.queued + ' queued</li>');
    if (s.ocpp) document.getElementById('ocpp').innerHTML = list(s.ocpp.stations, (x) => '<li data-v="' + esc(x.identity) + '" data-p="' + esc(x.protocol) + '"><code>' + esc(x.identity) + '</code> ' + esc(x.protocol) + ' · last ' + esc(x.lastAction ?? '-') + ' ' + (x.lastMessageAt ? new Date(x.lastMessageAt).toLocaleTimeString() : '') + ' <button onclick="sendCommand(\\'' + esc(x.identity) + '\\', \\'Reset\\')">Reset</button></li>');
    if (s.wamp) document.getElementById('wamp').innerHTML = s.wamp.realms.map((r) => '<p>Realm <code>' + esc(r.name) + '</code></p>' + list(r.sessions, (x) => '<li>' + x.session + ' ' + esc(x.authid) + ' (' + esc(x.authrole) + ', ' + esc(x.serializer) + ')</li>') + '<p>Subscriptions</p>' + list(r.subscriptions, (x) => '<li><code>' + esc(x.uri) + '</code> ' + esc(x.match) + ' · ' + x.subscribers + '</li>') + '<p>Registrations</p>' + list(r.registrations, (x) => '<li><code>' + esc(x.uri) + '</code> ' + esc(x.match) + '/' + esc(x.invoke) + ' · ' + x.callees + '</li>')).join('');
    if (s.sip) document.getElementById('sip').innerHTML = '<p>Domain <code>' + esc(s.sip.domain) + '</code></p><p>Registrations</p>' + list(s.sip.registrations, (b) => '<li><code>' + esc(b.aor) + '</code> ' + esc(b.userAgent ?? '') + ' · expires ' + new Date(b.expires).toLocaleTimeString() + '</li>') + '<p>Recent calls</p>' + list(s.sip.calls, (c) => '<li>' + new Date(c.started).toLocaleTimeString() + ' <code>' + esc(c.from) + '</code> → <code>' + esc(c.to) + '</code> ' + (c.status === undefined ? 'ringing' : c.status) + (c.ended ? ' · ended ' + new Date(c.ended).toLocaleTimeString() : '') + '</li>');
  } catch {}
}
refresh(); setInterval(refresh, 2000);
</script>
</body></html>`;
}
