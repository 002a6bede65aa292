// quarry web chat. Plain ES module, no build step, no external requests.
// Server and user text only ever reaches the page through textContent/attributes.

const API = '/api/v1';
const TOKEN_KEY = 'quarry.token';
const MAX_ROWS_SHOWN = 50;
const $ = (id) => document.getElementById(id);

// share: the token the open conversation was read with; owned: whether it is the user's own
// (only the owner can continue or share a conversation).
const state = { convId: null, share: null, owned: true, pending: null, suggestions: [], me: null, watch: null };
// How often an asker's page looks for an analyst's answer while one is awaited.
const WATCH_MS = 1000;
// Page-side timings (performance.now()) per question, read by the browser test.
window.__quarryTimings = [];

// ---------- DOM helpers ----------
function el(tag, attrs = {}, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) if (kid != null) n.append(kid);
  return n;
}

const ICONS = {
  up: 'M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3',
  down: 'M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17',
  copy: 'M9 11a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9a2 2 0 0 1-2-2zM5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1',
  download: 'M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3',
  menu: 'M3 12h18M3 6h18M3 18h18',
  retry: 'M23 4v6h-6M20.49 15a9 9 0 1 1-2.12-9.36L23 10',
};
function icon(name) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: 16, height: 16, fill: 'none', stroke: 'currentColor',
    'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', class: 'icon' })) svg.setAttribute(k, v);
  const p = document.createElementNS(NS, 'path');
  p.setAttribute('d', ICONS[name]);
  svg.append(p);
  return svg;
}

const smooth = () => (matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth');

function announce(text) {
  const live = $('live');
  live.textContent = '';
  // a fresh text node so repeated messages are read again
  requestAnimationFrame(() => { live.textContent = text; });
}

const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
const nfPlain = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4, useGrouping: false });
const NUMERIC_TYPE = /INT|DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL|HUGEINT/i;
function isNumericColumn(col, rows, i) {
  if (col && NUMERIC_TYPE.test(col.type || '')) return true;
  let seen = false;
  for (const r of rows) {
    const v = r[i];
    if (v == null) continue;
    if (typeof v !== 'number') return false;
    seen = true;
  }
  return seen;
}
function formatCell(v, numeric, colName) {
  if (v == null) return '—';
  if (numeric) {
    const x = typeof v === 'number' ? v : Number(v);
    if (Number.isFinite(x)) return (/(^|_)(year|id)$/i.test(colName || '') ? nfPlain : nf).format(x);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function relTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = (t - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [u, secs] of units) if (Math.abs(s) >= secs) return rtf.format(Math.round(s / secs), u);
  return 'just now';
}

// ---------- HTTP ----------
class ApiError extends Error {
  constructor(message, { status = 0, code = 'network', requestId = null } = {}) {
    super(message);
    this.status = status; this.code = code; this.requestId = requestId;
  }
}

function headers(extra = {}) {
  // The server's audit log tells the web chat from other API clients by this header.
  const h = { Accept: 'application/json', 'X-Quarry-Client': 'web', ...extra };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const e = body && body.error;
  const message = (e && e.message) || `The server answered ${res.status} ${res.statusText || ''}`.trim() + '.';
  if (res.status === 401) showAuth(message);
  return new ApiError(message, { status: res.status, code: (e && e.code) || 'http_' + res.status, requestId: e && e.request_id });
}

async function request(path, { method = 'GET', body, signal, accept } = {}) {
  let res;
  try {
    res = await fetch(/^(\/|https?:)/.test(path) ? path : `${API}/${path}`, {
      method, signal,
      headers: headers(body !== undefined ? { 'Content-Type': 'application/json', ...(accept ? { Accept: accept } : {}) } : (accept ? { Accept: accept } : {})),
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError('Could not reach the server. Check your connection and try again.');
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}
const getJSON = async (path, opts) => (await request(path, opts)).json();

// Minimal text/event-stream parser over a fetch body.
async function readSSE(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '', event = '', data = [];
  const line = (l) => {
    if (l === '') {
      if (data.length) onEvent(event || 'message', data.join('\n'));
      event = ''; data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  for (;;) {
    const { value, done } = await reader.read();
    buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let m;
    // a lone trailing \r may be half of \r\n: wait for the next chunk unless done
    while ((m = /\r\n|\r|\n/.exec(buf)) && !(m[0] === '\r' && m.index === buf.length - 1 && !done)) {
      line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
    if (done) { if (buf) line(buf); line(''); return; }
  }
}

// ---------- Auth ----------
function showAuth(message) {
  const form = $('auth');
  $('auth-msg').textContent = message || 'This server needs an API token. It is kept in this browser only.';
  if (form.hidden) { form.hidden = false; $('token').focus(); }
  announce(message || 'An API token is needed.');
}
$('auth').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('token').value.trim();
  if (!v) return;
  localStorage.setItem(TOKEN_KEY, v);
  $('token').value = '';
  $('auth').hidden = true;
  announce('Token saved.');
  boot();
  $('question').focus();
});

// ---------- Sidebar ----------
async function loadConversations() {
  try {
    const { conversations = [] } = await getJSON('conversations');
    const list = $('conv-list');
    list.replaceChildren(...conversations.map((c) => {
      const a = el('a', { href: `#c=${encodeURIComponent(c.id)}`, class: 'conv', 'data-id': c.id },
        el('span', { class: 'conv-t', text: c.title || 'Untitled' }),
        el('span', { class: 'conv-m', text: `${c.turns} ${c.turns === 1 ? 'question' : 'questions'} · ${relTime(c.updated_at)}` }));
      if (c.id === state.convId) a.setAttribute('aria-current', 'page');
      a.addEventListener('click', () => closeNav());
      return el('li', {}, a);
    }));
    $('conv-empty').hidden = conversations.length > 0;
    markCurrent();
  } catch (err) {
    if (err.name !== 'AbortError') $('conv-empty').hidden = false, ($('conv-empty').textContent = err.message);
  }
}
function markCurrent() {
  for (const a of document.querySelectorAll('#conv-list a')) {
    if (a.dataset.id === state.convId) {
      a.setAttribute('aria-current', 'page');
      $('conv-title').textContent = a.querySelector('.conv-t').textContent;
    } else a.removeAttribute('aria-current');
  }
  if (!state.convId) $('conv-title').textContent = 'New conversation';
}

function openNav() {
  document.body.classList.add('nav-open');
  $('scrim').hidden = false;
  $('nav-toggle').setAttribute('aria-expanded', 'true');
  $('nav-toggle').setAttribute('aria-label', 'Hide conversations');
  $('new-conv').focus();
}
function closeNav(focusToggle = false) {
  if (!document.body.classList.contains('nav-open')) return;
  document.body.classList.remove('nav-open');
  $('scrim').hidden = true;
  $('nav-toggle').setAttribute('aria-expanded', 'false');
  $('nav-toggle').setAttribute('aria-label', 'Show conversations');
  if (focusToggle) $('nav-toggle').focus();
}
$('nav-toggle').append(icon('menu'));
$('nav-toggle').addEventListener('click', () => (document.body.classList.contains('nav-open') ? closeNav() : openNav()));
$('scrim').addEventListener('click', () => closeNav(true));
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeNav(true); });

// ---------- Conversation ----------
// The hash is `#c=<id>`, or `#c=<id>&share=<token>` for a conversation shared with the user.
function convHash(id, share) {
  if (!id) return '';
  return `#c=${encodeURIComponent(id)}` + (share ? `&share=${encodeURIComponent(share)}` : '');
}
// A conversation the user starts or continues is their own: no share token.
function setConv(id) {
  state.convId = id;
  state.share = null;
  state.owned = true;
  const hash = convHash(id, null);
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
  markCurrent();
  showSharing();
}
function hashConv() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  return { id: params.get('c'), share: params.get('share') };
}
function showSharing() {
  $('shared-note').hidden = !state.convId || state.owned;
  $('share-conv').hidden = !state.convId || !state.owned;
  $('share-link').hidden = true;
}
$('share-conv').addEventListener('click', async () => {
  const id = state.convId;
  const button = $('share-conv');
  button.disabled = true;
  try {
    const { url } = await getJSON(`conversations/${encodeURIComponent(id)}/share`, { method: 'POST', body: {} });
    if (state.convId !== id) return;
    const field = $('share-link');
    field.value = url;
    field.hidden = false;
    field.select();
    let copied = false;
    try { await navigator.clipboard.writeText(url); copied = true; } catch { /* no clipboard access: the link is selected */ }
    announce(copied ? 'Share link copied' : 'Share link ready to copy');
  } catch (err) {
    announce(`Could not share: ${err.message}`);
  } finally { button.disabled = false; }
});
function showEmpty(show) { $('empty').hidden = !show; }

function resetThread() {
  if (state.pending) state.pending.abort();
  stopWatch();
  $('turns').replaceChildren();
}

function newConversation() {
  hideReview();
  resetThread();
  setConv(null);
  showEmpty(true);
  closeNav();
  $('question').focus();
}
$('new-conv').addEventListener('click', newConversation);

async function openConversation(id, share = null) {
  hideReview();
  resetThread();
  showEmpty(false);
  state.convId = id;
  state.share = share;
  state.owned = !share;
  markCurrent();
  showSharing();
  const loading = el('p', { class: 'muted loading', text: 'Loading conversation…' });
  $('turns').append(loading);
  try {
    const query = share ? `?share=${encodeURIComponent(share)}` : '';
    const conv = await getJSON(`conversations/${encodeURIComponent(id)}${query}`);
    if (state.convId !== id) return;
    loading.remove();
    state.owned = conv.is_owner !== false;
    showSharing();
    $('conv-title').textContent = conv.title || 'Conversation';
    for (const t of conv.turns || []) {
      const { answerEl } = addTurn(t.question, t.created_at);
      renderResponse(answerEl, t.response, t.review);
    }
    if ((conv.turns || []).some((t) => t.review && t.review.status === 'open')) watchForAnalyst();
    if (!conv.turns || !conv.turns.length) showEmpty(true);
    else $('turns').lastElementChild.scrollIntoView({ block: 'start' });
    announce(`Loaded conversation: ${conv.title || ''}`);
  } catch (err) {
    if (err.name === 'AbortError' || state.convId !== id) return;
    loading.remove();
    $('turns').append(errorBox(`Could not open this conversation: ${err.message}`, () => openConversation(id, share)));
    announce(err.message);
  }
}

window.addEventListener('hashchange', () => {
  if (reviewHash() != null) { showReview(reviewHash()); closeNav(); return; }
  hideReview();
  const { id, share } = hashConv();
  if (id === state.convId && share === state.share) return;
  if (id) openConversation(id, share); else newConversation();
  closeNav();
});

function addTurn(question, createdAt) {
  showEmpty(false);
  const answerEl = el('section', { class: 'answer', 'data-stages': '', 'aria-label': 'Answer' });
  const turn = el('article', { class: 'turn' },
    el('div', { class: 'q' },
      el('p', { class: 'q-text', text: question }),
      createdAt ? el('time', { class: 'q-time', datetime: createdAt, title: new Date(createdAt).toLocaleString(), text: relTime(createdAt) }) : null),
    answerEl);
  $('turns').append(turn);
  return { turn, answerEl };
}

// ---------- Asking ----------
const STAGE_FALLBACK = { retrieve: 'finding metrics…', plan: 'writing SQL…', synthesize: 'writing SQL…', validate: 'checking…', execute: 'running…', chart: 'charting…', summarize: 'summarizing…' };

function setPending(p) {
  state.pending = p;
  $('send').disabled = !!p;
  $('send').textContent = p ? 'Working…' : 'Send';
  for (const b of document.querySelectorAll('.clarify button')) b.disabled = !!p;
}

async function ask(question, answerEl = null) {
  question = question.trim();
  if (!question) return;
  if (state.pending) { announce('Still working on the previous question.'); return; }
  // Someone else's conversation is only read: a question in it starts the user's own.
  if (!answerEl && state.convId && !state.owned) { resetThread(); setConv(null); }
  const timing = { question, start: performance.now(), firstStage: null, answer: null };
  window.__quarryTimings.push(timing);
  if (!answerEl) answerEl = addTurn(question).answerEl;
  else answerEl.replaceChildren();
  answerEl.dataset.stages = '';
  answerEl.setAttribute('aria-busy', 'true');
  const steps = el('ol', { class: 'stages', 'aria-label': 'Progress' });
  const progress = el('div', { class: 'progress' }, el('p', { class: 'progress-h muted', text: 'Working on it' }), steps);
  answerEl.append(progress);
  answerEl.scrollIntoView({ block: 'nearest', behavior: smooth() });

  const ctl = new AbortController();
  setPending(ctl);
  let finished = false;
  const fail = (message, requestId) => {
    finished = true;
    answerEl.removeAttribute('aria-busy');
    answerEl.replaceChildren(errorBox(message, () => ask(question, answerEl), requestId));
    announce(`Error: ${message}`);
  };
  try {
    const res = await request('ask/stream', {
      method: 'POST', signal: ctl.signal, accept: 'text/event-stream',
      body: { question, conversation_id: state.convId || null },
    });
    const type = res.headers.get('content-type') || '';
    if (!type.includes('text/event-stream')) {
      // a server may answer with plain JSON; take it as the answer
      const body = await res.json();
      if (body.error) fail(body.error.message, body.error.request_id);
      else { finished = true; done(body); }
    } else {
      await readSSE(res, (event, data) => {
        let payload;
        try { payload = JSON.parse(data); } catch { return; }
        if (event === 'stage') onStage(payload);
        else if (event === 'answer') { finished = true; done(payload); }
        else if (event === 'error') { const e = payload.error || payload; fail(e.message || 'Something went wrong.', e.request_id); }
      });
    }
    if (!finished) fail('The answer stopped before it was complete. Try again.');
  } catch (err) {
    if (err.name === 'AbortError') return;
    fail(err.message || 'Something went wrong.', err.requestId);
  } finally {
    if (state.pending === ctl) setPending(null);
  }

  function onStage(s) {
    if (timing.firstStage == null) timing.firstStage = performance.now();
    const name = s.stage || '';
    answerEl.dataset.stages = answerEl.dataset.stages ? `${answerEl.dataset.stages},${name}` : name;
    const label = s.label || STAGE_FALLBACK[name] || name;
    for (const li of steps.children) { li.classList.remove('current'); li.classList.add('done'); }
    steps.append(el('li', { class: 'current', 'data-stage': name }, el('span', { class: 'dot', 'aria-hidden': 'true' }),
      el('span', { text: label + (s.attempt > 1 ? ` (attempt ${s.attempt})` : '') })));
    announce(label);
  }
  function done(resp) {
    renderResponse(answerEl, resp, resp.review);
    if (resp.review && resp.review.status === 'open') watchForAnalyst();
    answerEl.parentElement.scrollIntoView({ block: 'start', behavior: smooth() });
    timing.answer = performance.now();
    const first = !state.convId;
    if (resp.conversation_id) setConv(resp.conversation_id);
    loadConversations();
    const a = resp.answer || {};
    announce(a.status === 'answered' ? `Answer ready: ${a.summary || ''}` : a.status === 'needs_clarification'
      ? `Needs clarification: ${(a.clarification && a.clarification.question) || ''}` : `No answer: ${a.message || a.summary || ''}`);
    if (first) markCurrent();
  }
}

function errorBox(message, retry, requestId) {
  return el('div', { class: 'error', role: 'alert' },
    el('p', { class: 'error-t', text: message }),
    requestId ? el('p', { class: 'small muted', text: `Request ${requestId}` }) : null,
    retry ? el('button', { type: 'button', class: 'btn', onclick: retry }, icon('retry'), 'Try again') : null);
}

// ---------- Rendering an answer ----------
function renderResponse(answerEl, resp, review = null) {
  const a = (resp && resp.answer) || {};
  answerEl.removeAttribute('aria-busy');
  answerEl.dataset.answerId = resp.answer_id || '';
  answerEl.dataset.status = a.status || '';
  const parts = [];
  const badges = answerBadges(resp);
  if (badges) parts.push(badges);
  if (a.status === 'needs_clarification') {
    const c = a.clarification || {};
    parts.push(el('p', { class: 'summary', text: c.question || a.summary || 'Could you say a bit more?' }));
    if (c.options && c.options.length) {
      parts.push(el('div', { class: 'clarify', role: 'group', 'aria-label': 'Choose one' },
        c.options.map((o) => el('button', { type: 'button', class: 'chip', disabled: !!state.pending, onclick: () => ask(o) }, o))));
    }
  } else if (a.status === 'cannot_answer') {
    parts.push(el('p', { class: 'summary cannot', text: a.message || a.summary || 'This question cannot be answered with the data available.' }));
    if (a.message && a.summary && a.summary !== a.message) parts.push(el('p', { class: 'muted', text: a.summary }));
  } else {
    if (a.summary) parts.push(el('p', { class: 'summary', text: a.summary }));
    const cols = a.columns || [], rows = a.rows || [];
    if (resp.chart && resp.chart.svg_url) parts.push(chartFigure(resp.chart));
    if (cols.length === 1 && rows.length === 1) parts.push(bigNumber(cols[0], rows[0][0]));
    else if (cols.length) parts.push(resultTable(resp, cols, rows, !!a.truncated));
  }
  if (a.cross_check) parts.push(crossCheckLine(a.cross_check));
  if (a.sql) parts.push(sqlBlock(a.sql));
  parts.push(howBlock(resp));
  if (resp.answer_id && !resp.analyst && (state.owned || review)) parts.push(handoffBar(resp.answer_id, review));
  if (resp.answer_id) parts.push(feedbackBar(resp.answer_id));
  answerEl.replaceChildren(...parts);
}

// "answered by <analyst>" on an analyst's answer, "verified by <analyst> on <date>" on an
// answer from a verified question.
function answerBadges(resp) {
  const a = resp.answer || {};
  const badges = [];
  if (resp.analyst) {
    badges.push(el('span', { class: 'badge badge-analyst', title: `Answered ${new Date(resp.analyst.at).toLocaleString()}`,
      text: `Answered by ${resp.analyst.by}` }));
  }
  if (a.verified) {
    const day = new Date(a.verified.at).toLocaleDateString('en', { year: 'numeric', month: 'short', day: 'numeric' });
    badges.push(el('span', { class: 'badge badge-verified', title: `Verified question: ${a.verified.question}`,
      text: `Verified by ${a.verified.by} on ${day}` }));
  }
  return badges.length ? el('div', { class: 'badges' }, badges) : null;
}

// "Ask an analyst": hands the question to a person; their answer comes into this conversation.
function handoffBar(answerId, review) {
  const status = el('span', { class: 'small handoff-status', role: 'status' });
  const bar = el('div', { class: 'handoff', 'data-review-status': review ? review.status : '' });
  const sent = (item) => {
    bar.dataset.reviewStatus = item.status;
    bar.dataset.reviewId = item.id;
    status.textContent = item.status === 'answered' ? 'An analyst answered this question below.'
      : 'Sent to an analyst. Their answer will appear in this conversation.';
  };
  // quarry puts what it could not answer in the analysts' queue itself; the asker chooses
  // whether to wait for a person's answer here.
  if (review && (review.reason === 'asked' || review.status === 'answered')) { sent(review); bar.append(status); return bar; }
  if (review) status.textContent = 'quarry could not answer this with confidence; an analyst can.';
  const button = el('button', { type: 'button', class: 'btn ask-analyst' }, 'Ask an analyst');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const item = await getJSON('reviews', { method: 'POST', body: { answer_id: answerId } });
      button.remove();
      sent(item);
      announce(status.textContent);
      watchForAnalyst();
    } catch (err) {
      button.disabled = false;
      status.textContent = `Not sent: ${err.message}`;
    }
  });
  bar.append(button, status);
  return bar;
}

// While a question waits for an analyst, the conversation is read again every WATCH_MS; an
// answer that arrived is added as a turn.
function watchForAnalyst() {
  if (state.watch || !state.convId || !state.owned) return;
  const id = state.convId;
  state.watch = setInterval(async () => {
    if (state.pending || state.convId !== id) return;
    try {
      const conv = await getJSON(`conversations/${encodeURIComponent(id)}`);
      if (state.convId !== id || state.pending) return;
      const shown = document.querySelectorAll('#turns .turn').length;
      const turns = conv.turns || [];
      for (const t of turns.slice(shown)) {
        const { answerEl } = addTurn(t.question, t.created_at);
        renderResponse(answerEl, t.response, t.review);
        if (t.response && t.response.analyst) {
          loadConversations();
          announce(`${t.response.analyst.by} answered: ${(t.response.answer || {}).summary || ''}`);
          answerEl.parentElement.scrollIntoView({ block: 'start', behavior: smooth() });
        }
      }
      for (const [i, t] of turns.entries()) {
        const bar = document.querySelectorAll('#turns .turn')[i]?.querySelector('.handoff');
        if (bar && t.review && bar.dataset.reviewStatus !== t.review.status) {
          bar.dataset.reviewStatus = t.review.status;
          const s = bar.querySelector('.handoff-status');
          if (s && t.review.status === 'answered') s.textContent = 'An analyst answered this question below.';
        }
      }
      if (!turns.some((t) => t.review && t.review.status === 'open')) stopWatch();
    } catch { /* the next tick tries again */ }
  }, WATCH_MS);
}
function stopWatch() {
  if (state.watch) clearInterval(state.watch);
  state.watch = null;
}

// The cross-check's verdict under the answer; on disagreement the model's SQL is shown beside
// the planner's (the answer's own SQL block).
function crossCheckLine(check) {
  const line = el('p', { class: `small cross-check cross-check-${check.verdict || 'unchecked'}`, role: 'status', text: check.message || '' });
  if (check.verdict !== 'disagree' || !check.model_sql) return line;
  return el('div', {}, line, el('p', { class: 'small muted', text: `The model's SQL (${check.model || 'model'}):` }), sqlBlock(check.model_sql));
}

function bigNumber(col, v) {
  const numeric = typeof v === 'number' || NUMERIC_TYPE.test(col.type || '');
  return el('div', { class: 'big' }, el('span', { class: 'big-v', text: formatCell(v, numeric, col.name) }), el('span', { class: 'big-l muted', text: col.name }));
}

// --- chart: fetched as text, sanitized, imported inline ---
function chartFigure(chart) {
  const holder = el('div', { class: 'chart-box', 'aria-busy': 'true' }, el('p', { class: 'muted small', text: 'Loading chart…' }));
  const fig = el('figure', { class: 'chart', 'data-kind': chart.kind || '' }, holder,
    chart.reason ? el('figcaption', { class: 'small muted', text: `Chart: ${chart.kind ? chart.kind + ' — ' : ''}${chart.reason}` }) : null);
  (async () => {
    try {
      const res = await request(chart.svg_url, { accept: 'image/svg+xml' });
      const svg = sanitizeSvg(await res.text());
      holder.replaceChildren(svg);
    } catch (err) {
      holder.replaceChildren(el('p', { class: 'small muted', text: `The chart could not be shown: ${err.message}` }));
    }
    holder.removeAttribute('aria-busy');
  })();
  return fig;
}

const BAD_ELEMENTS = new Set(['script', 'foreignobject', 'iframe', 'object', 'embed', 'handler', 'listener']);
function sanitizeSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (!root || root.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) throw new Error('the server sent an invalid SVG');
  for (const n of [...root.querySelectorAll('*')]) if (BAD_ELEMENTS.has(n.localName.toLowerCase())) n.remove();
  for (const n of [root, ...root.querySelectorAll('*')]) {
    for (const attr of [...n.attributes]) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
      if (name.startsWith('on')) n.removeAttributeNode(attr);
      else if ((name === 'href' || name.endsWith(':href') || name === 'src' || name === 'action' || name === 'formaction')
        && /^(javascript|vbscript|data):/.test(value) && !/^data:image\/(png|jpe?g|gif|webp);/.test(value)) n.removeAttributeNode(attr);
    }
  }
  const svg = document.importNode(root, true);
  const w = parseFloat(svg.getAttribute('width')), h = parseFloat(svg.getAttribute('height'));
  if (!svg.getAttribute('viewBox') && w && h) svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  if (w) svg.style.maxWidth = `${w}px`;
  svg.removeAttribute('width'); svg.removeAttribute('height');
  svg.setAttribute('role', 'img');
  const title = svg.querySelector('title');
  svg.setAttribute('aria-label', (title && title.textContent.trim()) || 'Chart of the result');
  return svg;
}

// --- table ---
function resultTable(resp, cols, rows, truncated) {
  const numeric = cols.map((c, i) => isNumericColumn(c, rows, i));
  let order = rows.map((_, i) => i);
  let sort = { col: -1, dir: 'none' };
  const tbody = el('tbody');
  const ths = cols.map((c, i) => {
    const btn = el('button', { type: 'button', class: 'sort', title: c.type ? `${c.name} (${c.type}) — sort` : `Sort by ${c.name}` },
      el('span', { text: c.name }), el('span', { class: 'sort-i', 'aria-hidden': 'true' }));
    btn.addEventListener('click', () => sortBy(i));
    return el('th', { scope: 'col', class: numeric[i] ? 'num' : null }, btn);
  });
  const paint = () => {
    tbody.replaceChildren(...order.slice(0, MAX_ROWS_SHOWN).map((ri) => el('tr', {},
      cols.map((c, ci) => {
        const v = rows[ri][ci];
        return el('td', { class: [numeric[ci] ? 'num' : '', v == null ? 'null' : ''].join(' ').trim() || null, text: formatCell(v, numeric[ci], c.name) });
      }))));
  };
  function sortBy(i) {
    const dir = sort.col === i && sort.dir === 'ascending' ? 'descending' : 'ascending';
    sort = { col: i, dir };
    const sign = dir === 'ascending' ? 1 : -1;
    const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
    order = rows.map((_, k) => k).sort((x, y) => {
      const a = rows[x][i], b = rows[y][i];
      if (a == null || b == null) return a == null && b == null ? x - y : a == null ? 1 : -1; // nulls last
      const c = numeric[i] ? Number(a) - Number(b) : collator.compare(String(a), String(b));
      return c ? c * sign : x - y;
    });
    ths.forEach((th, k) => {
      if (k === i) th.setAttribute('aria-sort', dir); else th.removeAttribute('aria-sort');
      th.querySelector('.sort-i').textContent = k === i ? (dir === 'ascending' ? '▲' : '▼') : '';
    });
    paint();
  }
  paint();
  const n = rows.length;
  const note = [`${nf.format(n)} ${n === 1 ? 'row' : 'rows'}`];
  if (n > MAX_ROWS_SHOWN) note.push(`showing the first ${MAX_ROWS_SHOWN}`);
  if (truncated) note.push('truncated at the row limit');
  return el('div', { class: 'result' },
    el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Result table' },
      el('table', {}, el('thead', {}, el('tr', {}, ths)), tbody)),
    el('div', { class: 'table-foot' },
      el('span', { class: 'small muted rows-note', text: note.join(' · ') }),
      el('button', { type: 'button', class: 'btn btn-ghost', onclick: () => downloadCsv(resp, cols, rows) }, icon('download'), 'Download CSV')));
}

function csvField(v) {
  if (v == null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
function toCsv(cols, rows) {
  return [cols.map((c) => csvField(c.name)), ...rows.map((r) => cols.map((_, i) => csvField(r[i])))]
    .map((r) => r.join(',')).join('\r\n') + '\r\n';
}
function downloadCsv(resp, cols, rows) {
  const blob = new Blob([toCsv(cols, rows)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: `quarry-${resp.answer_id || 'answer'}.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  announce('CSV download started.');
}

// --- SQL ---
function sqlBlock(sql) {
  const copy = el('button', { type: 'button', class: 'btn btn-ghost copy' }, icon('copy'), el('span', { text: 'Copy' }));
  copy.addEventListener('click', async () => {
    const ok = await copyText(sql);
    copy.lastChild.textContent = ok ? 'Copied' : 'Copy failed';
    announce(ok ? 'SQL copied to the clipboard.' : 'Could not copy the SQL. Select it and copy by hand.');
    setTimeout(() => { copy.lastChild.textContent = 'Copy'; }, 1800);
  });
  return el('details', { class: 'sql' }, el('summary', { text: 'SQL' }),
    el('div', { class: 'sql-body' }, copy, el('pre', {}, el('code', { text: sql }))));
}
async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); return true; }
  } catch { /* fall back */ }
  const ta = el('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

// --- How this was answered ---
function howBlock(resp) {
  const a = resp.answer || {};
  const x = a.explanation || {};
  const dl = el('dl', { class: 'how-list' });
  const add = (term, value) => {
    if (value == null || value === '' || (Array.isArray(value) && !value.length)) return;
    const dd = Array.isArray(value)
      ? (value.length === 1 ? el('dd', { text: value[0] }) : el('dd', {}, el('ul', {}, value.map((v) => el('li', { text: String(v) })))))
      : el('dd', {}, value);
    dl.append(el('dt', { text: term }), dd);
  };
  add('Metrics', x.measures);
  add('Grouped by', x.group_by);
  add('Filters', x.filters);
  add('Time window', x.time_window);
  add('Ranking', x.ranking);
  add('Assumptions', x.assumptions);
  add('Ignored', x.ignored);
  if (x.follow_up) add('Follow-up', 'builds on the previous question');
  add('Snapshot', a.snapshot_id || x.snapshot_id);
  const routes = { builtin: 'built-in planner', analyst: `analyst ${(resp.analyst || {}).by || ''}`.trim(), verified: 'a verified question' };
  if (a.route) add('Answered by', routes[a.route] || `model ${a.route}`);
  if (a.confidence != null) add('Confidence', `${Math.round(a.confidence * 100)}%`);
  const log = a.attempt_log || [];
  if ((a.attempts || log.length) > 1 && log.length) {
    add('Attempts', el('ol', { class: 'attempts' }, log.map((t) => el('li', {},
      `${t.by || 'planner'}: ${t.verdict || 'unknown'}${t.error ? ' — ' + t.error : ''}`))));
  } else if (a.attempts != null) add('Attempts', String(a.attempts));
  const tm = a.timings_ms || {};
  const timings = Object.entries(tm).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
  add('Timings', timings.join(' · '));
  if (a.tokens) add('Tokens', `${a.tokens.total_tokens ?? '?'} (prompt ${a.tokens.prompt_tokens ?? '?'}, completion ${a.tokens.completion_tokens ?? '?'})${a.tokens.cost_usd != null ? ` · $${a.tokens.cost_usd}` : ''}`);
  if (a.chart && a.chart.reason && !resp.chart) add('Chart', a.chart.reason);
  add('Notes', a.notes);
  add('SQL adjusted', a.sql_notes);
  add('Request', resp.request_id);
  return el('details', { class: 'how' }, el('summary', { text: 'How this was answered' }), dl);
}

// --- feedback ---
function feedbackBar(answerId) {
  let rating = null;
  // An answer in a conversation shared with the user is rated with the share's token.
  const share = state.owned ? null : state.share;
  const status = el('span', { class: 'small fb-status', role: 'status' });
  const comment = el('textarea', { id: `fb-${answerId}`, rows: '2', placeholder: 'What was good or wrong? (optional)' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary' }, 'Send feedback');
  const form = el('form', { class: 'fb-form', hidden: true },
    el('label', { for: `fb-${answerId}`, class: 'small', text: 'Comment (optional)' }), comment,
    el('div', { class: 'row' }, submit, el('button', { type: 'button', class: 'btn btn-ghost', onclick: () => { form.hidden = true; } }, 'Cancel')));
  const mk = (r, label) => {
    const b = el('button', { type: 'button', class: `icon-btn thumb thumb-${r}`, 'aria-pressed': 'false', 'aria-label': label, title: label }, icon(r));
    b.addEventListener('click', () => {
      rating = r;
      up.setAttribute('aria-pressed', String(r === 'up'));
      down.setAttribute('aria-pressed', String(r === 'down'));
      status.textContent = '';
      form.hidden = false;
      comment.focus();
    });
    return b;
  };
  const up = mk('up', 'Helpful'), down = mk('down', 'Not helpful');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!rating) return;
    submit.disabled = true;
    try {
      const body = { answer_id: answerId, rating };
      if (share) body.share = share;
      const c = comment.value.trim();
      if (c) body.comment = c;
      await request('feedback', { method: 'POST', body });
      form.hidden = true;
      status.className = 'small fb-status ok';
      status.textContent = 'Thanks — feedback saved';
    } catch (err) {
      status.className = 'small fb-status bad';
      status.textContent = `Feedback not saved: ${err.message}`;
    } finally { submit.disabled = false; }
  });
  comment.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });
  return el('div', { class: 'feedback' },
    el('div', { class: 'fb-row' }, el('span', { class: 'small muted', text: 'Was this useful?' }), up, down, status), form);
}

// ---------- Review queue (analysts) ----------
const REASONS = { cannot_answer: 'could not answer', asked: 'asked for an analyst', thumbs_down: 'thumbs down', routes_disagree: 'routes disagree' };
// `#review` is the queue, `#review=<id>` an item in it.
function reviewHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  return params.has('review') ? params.get('review') : null;
}
function hideReview() {
  document.body.classList.remove('in-review');
  $('review').hidden = true;
}
async function showReview(itemId) {
  stopWatch();
  document.body.classList.add('in-review');
  $('review').hidden = false;
  $('conv-title').textContent = 'Review queue';
  for (const a of document.querySelectorAll('#conv-list a')) a.removeAttribute('aria-current');
  state.convId = null;
  showSharing();
  await loadQueue(itemId);
  if (itemId) openItem(itemId); else $('review-item').hidden = true;
}
async function loadQueue(current) {
  const params = new URLSearchParams();
  if ($('f-status').value) params.set('status', $('f-status').value);
  if ($('f-reason').value) params.set('reason', $('f-reason').value);
  if ($('f-asker').value.trim()) params.set('asker', $('f-asker').value.trim());
  try {
    const { items = [] } = await getJSON(`reviews?${params}`);
    $('review-list').replaceChildren(...items.map((item) => el('li', {},
      el('button', { type: 'button', class: 'review-entry', 'data-id': item.id, 'aria-current': item.id === current ? 'true' : null,
        onclick: () => { location.hash = `review=${encodeURIComponent(item.id)}`; } },
      el('span', { class: 'q-line', text: item.question }),
      el('span', { class: 'small muted', text: `${REASONS[item.reason] || item.reason} · ${item.asker} · ${item.channel} · ${relTime(item.created_at)}`
        + (item.answered_by ? ` · answered by ${item.answered_by}` : '') })))));
    $('review-empty').hidden = items.length > 0;
    const open = items.filter((i) => i.status === 'open').length;
    if (!params.get('reason') && !params.get('asker') && params.get('status') === 'open') $('queue-count').textContent = `(${open})`;
  } catch (err) {
    $('review-list').replaceChildren(el('li', {}, errorBox(`Could not load the queue: ${err.message}`, () => loadQueue(current))));
  }
}
$('review-filters').addEventListener('submit', (ev) => { ev.preventDefault(); loadQueue(reviewHash()); });

async function openItem(id) {
  const box = $('review-item');
  box.hidden = false;
  box.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  let detail;
  try { detail = await getJSON(`reviews/${encodeURIComponent(id)}`); } catch (err) {
    box.replaceChildren(errorBox(`Could not open this item: ${err.message}`, () => openItem(id)));
    return;
  }
  const item = detail.item, ctx = item.context || {};
  const reading = ctx.reading || {};
  const dl = el('dl', { class: 'how-list' });
  const add = (term, value) => {
    if (value == null || value === '' || (Array.isArray(value) && !value.length)) return;
    dl.append(el('dt', { text: term }), el('dd', {}, Array.isArray(value) ? el('ul', {}, value.map((v) => el('li', { text: String(v) }))) : value));
  };
  add('Why quarry was not sure', ctx.why);
  add('Asked by', `${item.asker} (${item.channel})`);
  add('Reason', REASONS[item.reason] || item.reason);
  if (ctx.comment) add('Comment', ctx.comment);
  if (ctx.note) add('Note', ctx.note);
  if (ctx.confidence != null) add('Confidence', `${Math.round(ctx.confidence * 100)}%`);
  add('Reading: metrics', reading.measures);
  add('Reading: grouped by', reading.group_by);
  add('Reading: filters', reading.filters);
  add('Reading: assumptions', reading.assumptions);
  add('Reading: ignored', reading.ignored);
  if (ctx.model_reading) add("The model's reading", ctx.model_reading);
  const attempts = ctx.attempts || [];
  if (attempts.length) add('SQL attempts', el('ol', { class: 'attempts' }, attempts.map((t) =>
    el('li', {}, `${t.by}: ${t.verdict}${t.error ? ' — ' + t.error : ''}`, sqlBlock(t.sql)))));
  const convo = el('ol', { class: 'convo', 'aria-label': 'The conversation' }, (detail.conversation || []).map((t) =>
    el('li', {}, el('strong', { text: t.question }), ' — ', el('span', { class: 'muted', text: ((t.response || {}).answer || {}).summary || '' }))));
  const firstSql = attempts.length ? attempts[attempts.length - 1].sql : (ctx.sql || '');
  const sql = el('textarea', { id: 'review-sql', rows: '6', spellcheck: 'false' });
  sql.value = firstSql || '';
  const result = el('div', { class: 'sql-result', 'aria-live': 'polite' });
  const run = el('button', { type: 'button', class: 'btn', id: 'review-run' }, 'Run SQL');
  run.addEventListener('click', async () => {
    run.disabled = true;
    result.replaceChildren(el('p', { class: 'muted small', text: 'Running…' }));
    try {
      const out = await getJSON(`reviews/${encodeURIComponent(id)}/sql`, { method: 'POST', body: { sql: sql.value } });
      const cols = out.columns.map((name) => ({ name }));
      const parts = [];
      if (out.chart_svg) {
        try { parts.push(el('figure', { class: 'chart' }, el('div', { class: 'chart-box' }, sanitizeSvg(out.chart_svg)))); } catch { /* no chart */ }
      }
      parts.push(resultTable({ answer_id: id }, cols, out.rows, out.truncated));
      result.replaceChildren(...parts);
      announce(`${out.rows.length} rows`);
    } catch (err) {
      result.replaceChildren(errorBox(err.message, null, err.requestId));
    } finally { run.disabled = false; }
  });
  const text = el('textarea', { id: 'review-answer', class: 'prose', rows: '3' });
  const promote = el('input', { type: 'checkbox', id: 'review-promote' });
  const send = el('button', { type: 'button', class: 'btn btn-primary', id: 'review-send' }, 'Send answer');
  const status = el('p', { class: 'small', role: 'status', id: 'review-status' });
  send.addEventListener('click', async () => {
    if (!text.value.trim()) { status.textContent = 'Write the answer first.'; text.focus(); return; }
    send.disabled = true;
    try {
      const body = { text: text.value, promote: promote.checked };
      if (sql.value.trim()) body.sql = sql.value;
      const done = await getJSON(`reviews/${encodeURIComponent(id)}/answer`, { method: 'POST', body });
      status.className = 'small ok';
      status.textContent = `Answered. Delivered: ${done.delivery}${done.verified_id ? ` · verified question ${done.verified_id}` : ''}`;
      box.dataset.status = 'answered';
      announce(status.textContent);
      loadQueue(id);
    } catch (err) {
      status.className = 'small bad';
      status.textContent = `Not answered: ${err.message}`;
      send.disabled = false;
    }
  });
  const answered = item.status === 'answered';
  box.dataset.status = item.status;
  box.replaceChildren(
    el('h3', { text: item.question }), dl,
    el('div', {}, el('h4', { class: 'side-h', text: 'Conversation' }), convo),
    answered ? el('p', { class: 'small', text: `Answered by ${item.answered_by}: ${item.answer_text} (${item.delivery || 'not delivered'})` })
      : el('div', { class: 'sql-editor' },
        el('label', { for: 'review-sql', class: 'small', text: 'SQL (runs through the same policy as every answer)' }), sql,
        el('div', { class: 'row' }, run), result,
        el('label', { for: 'review-answer', class: 'small', text: 'Your answer to the asker' }), text,
        el('label', { class: 'check' }, promote, 'Promote the question and this SQL to a verified question'),
        el('div', { class: 'row' }, send), status));
}

async function loadMe() {
  try {
    state.me = await getJSON('me');
    $('queue-link').hidden = !state.me.analyst;
  } catch { /* the chat works without it */ }
}

// ---------- Composer ----------
const q = $('question');
function autosize() { q.style.height = 'auto'; q.style.height = `${Math.min(q.scrollHeight, 200)}px`; }
q.addEventListener('input', autosize);
q.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('ask').requestSubmit(); }
});
$('ask').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = q.value.trim();
  if (!text) { announce('Type a question first.'); return; }
  if (state.pending) { announce('Still working on the previous question.'); return; }
  q.value = '';
  autosize();
  ask(text);
});

async function loadSuggestions() {
  try {
    const { suggestions = [] } = await getJSON('suggestions');
    $('suggestions').replaceChildren(...suggestions.map((s) => el('li', {},
      el('button', { type: 'button', class: 'chip', onclick: () => { if (!state.pending) { q.focus(); ask(s); } } }, s))));
  } catch (err) {
    $('suggestions').replaceChildren(el('li', { class: 'small muted', text: `Suggestions unavailable: ${err.message}` }));
  }
}

// Which snapshot answers come from: the user's own data or the demo warehouse.
async function loadSnapshot() {
  try {
    const snap = await getJSON('snapshot');
    const badge = $('snapshot');
    badge.textContent = snap.demo ? `Data: demo warehouse · ${snap.id}` : `Data: ${snap.id} · ${snap.source}`;
    badge.title = `Snapshot ${snap.id} (${snap.source}), as of ${snap.as_of}; semantic layer ${snap.semantic_layer}`;
    badge.dataset.snapshotId = snap.id;
    badge.hidden = false;
    const own = snap.own_snapshots || [];
    if (snap.demo && own.length) {
      const note = $('demo-note');
      note.textContent = `Answers come from the demo warehouse. Your snapshots: ${own.join(', ')}. `
        + 'To answer from one, run `quarry snapshot use ID` and restart the server.';
      note.hidden = false;
    }
  } catch {
    // The page works without it; the answer's details still name the snapshot.
  }
}

function boot() {
  loadSnapshot();
  loadSuggestions();
  loadConversations();
  loadMe();
  if (reviewHash() != null) { showReview(reviewHash()); return; }
  const { id, share } = hashConv();
  if (id) openConversation(id, share); else showEmpty(true);
}
boot();
