// The page: header, plot, the paper's metrics, and a browser of every question's traces. All text
// from the run goes in with textContent: a question or a trace is shown, never interpreted.

const DATA = JSON.parse(document.getElementById('s1kit-data').textContent);
const PAGE_SIZE = 300;
const SPAN_KINDS = new Set(['wait', 'cap', 'end']);
const state = { run: 0, point: null, curve: null, index: null, question: null, shown: PAGE_SIZE };

const $ = id => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function pct(value, digits = 1) {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : (100 * value).toFixed(digits);
}

function fixed(value, digits = 1) {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function currentRun() { return DATA.runs[state.run]; }

// Per run, once: the rows of each (question, point), and the texts decoded so far.
const INDEXES = new Map();

function indexOf(run) {
  if (INDEXES.has(run) || !run.rows) return INDEXES.get(run);
  const rows = run.rows, points = run.points.length, questions = run.questions_data.index.length;
  const cells = Array.from({ length: questions * points }, () => []);
  for (let i = 0; i < rows.q.length; i++) cells[rows.q[i] * points + rows.p[i]].push(i);
  const share = new Float64Array(questions * points).fill(NaN);
  cells.forEach((members, k) => {
    if (members.length) share[k] = members.reduce((n, i) => n + rows.correct[i], 0) / members.length;
  });
  const index = { points, questions, cells, share, texts: new Map(), lowered: null };
  INDEXES.set(run, index);
  return index;
}

function rowsAt(run, q, p) { const index = indexOf(run); return index.cells[q * index.points + p]; }

// A row's text: a prefix of an earlier row's text plus its own tail (view/compact.py).
function textOf(run, i) {
  const texts = indexOf(run).texts;
  let text = texts.get(i);
  if (text === undefined) {
    const [base, shared, tail] = run.rows.text[i];
    text = (base >= 0 ? textOf(run, base).slice(0, shared) : '') + tail;
    texts.set(i, text);
  }
  return text;
}

// ---- filters: each question is kept or not from its rows at the selected point ----

function filters() {
  return {
    outcome: $('filter-outcome').value, capped: $('filter-capped').checked, waits: $('filter-waits').checked,
    noAnswer: $('filter-no-answer').checked, changes: $('filter-changes').checked,
    overturned: $('filter-overturned').checked, rejected: $('filter-rejected').checked,
    search: $('filter-search').value.trim().toLowerCase(),
  };
}

function matches(run, q, f) {
  const rows = run.rows, index = indexOf(run);
  const members = state.point === null ? [] : rowsAt(run, q, state.point);
  const right = members.reduce((n, i) => n + rows.correct[i], 0);
  if (f.outcome === 'right' && !(members.length && right === members.length)) return false;
  if (f.outcome === 'wrong' && right !== 0) return false;
  if (f.outcome === 'mixed' && !(right > 0 && right < members.length)) return false;
  if (f.capped && !members.some(i => rows.capped[i])) return false;
  if (f.waits && !members.some(i => rows.waits[i] > 0)) return false;
  if (f.noAnswer && !members.some(i => rows.extracted[i] === null)) return false;
  if (f.overturned && !(rows.judged && members.some(i => rows.judged[i] && rows.correct[i] !== rows.rule_correct[i]))) return false;
  if (f.rejected && !(rows.accepted && members.some(i => rows.accepted[i] === 0))) return false;
  if (f.changes) {
    const shares = [];
    for (let p = 0; p < index.points; p++) {
      const s = index.share[q * index.points + p];
      if (!Number.isNaN(s)) shares.push(s);
    }
    if (shares.every(s => s === shares[0])) return false;
  }
  if (f.search) {
    if (!index.lowered) {
      const qd = run.questions_data;
      index.lowered = qd.question.map((text, k) => `${text}\n${qd.id[k] ?? ''}`.toLowerCase());
    }
    if (!index.lowered[q].includes(f.search)) return false;
  }
  return true;
}

// ---- header, tabs, tables ----

function renderHeader() {
  const run = currentRun();
  const single = DATA.runs.length === 1;
  const title = single ? `${run.task} · ${run.model} (${run.backend}) · ${run.method}` : DATA.title;
  $('title').textContent = title;
  document.title = `${title} · s1kit`;
  const tasks = new Set(DATA.runs.map(r => r.task)), models = new Set(DATA.runs.map(r => r.model));
  $('subtitle').textContent = single
    ? `${run.questions} questions, ${run.samples} sample(s) each · ${run.name}`
    : `${DATA.runs.length} runs · task ${[...tasks].join(', ')} · model ${[...models].join(', ')}`
      + (tasks.size > 1 || models.size > 1 ? ' (runs differ in task or model: compare with care)' : '');
  const tabs = $('run-tabs');
  tabs.replaceChildren();
  if (single) return;
  DATA.runs.forEach((r, k) => {
    const button = el('button', null, `${r.name} (${r.method})`);
    button.type = 'button';
    button.setAttribute('aria-pressed', String(k === state.run));
    button.addEventListener('click', () => selectRun(k));
    tabs.appendChild(button);
  });
}

function headerRow(table, names) {
  const row = table.createTHead().insertRow();
  for (const [name, cls] of names) row.appendChild(el('th', cls, name));
}

function renderTable3() {
  const table = $('table3');
  table.replaceChildren();
  const multi = DATA.runs.length > 1;
  headerRow(table, [...(multi ? [['run', 'text']] : []), ['method', 'text'], ['curve', 'text'], ['kind', 'text'],
    ['Control (%)'], ['Scaling'], ['Performance (%)'], ['|A|']]);
  const body = table.createTBody();
  for (const run of DATA.runs) {
    for (const r of run.table) {
      const tr = body.insertRow();
      const cells = [...(multi ? [[r.run, 'text']] : []), [r.method, 'text'], [r.curve, 'text'], [r.kind, 'text'],
        [pct(r.control, 0)], [fixed(r.scaling)], [pct(r.performance)], [r.points]];
      for (const [value, cls] of cells) tr.appendChild(el('td', cls, value));
    }
  }
}

function pointCaption(run, p) {
  const point = run.points[p];
  return point.instruction ? `${point.label} (prompt: ${point.instruction})` : point.label;
}

function renderPoints() {
  const run = currentRun();
  $('points-title').textContent = DATA.runs.length > 1 ? `Points of ${run.name}` : 'Points';
  const table = $('points');
  table.replaceChildren();
  const extra = [...new Set(run.points.flatMap(p => Object.keys(p).filter(k => k.includes('@'))))].sort();
  const tries = run.points.some(p => 'avg_tries' in p);
  headerRow(table, [['point', 'text'], ['cap'], ['ignores'], ['accuracy (%)'], ['avg thinking'], ['avg answer'],
    ['waits'], ['capped'], ['no answer'], ['control'], ...extra.map(k => [k]),
    ...(tries ? [['avg tries'], ['accepted']] : [])]);
  const body = table.createTBody();
  run.points.forEach((p, k) => {
    const tr = body.insertRow();
    tr.dataset.point = k;
    if (k === state.point) tr.className = 'selected';
    const cells = [[p.label, 'text'], [p.max_thinking_tokens ?? 'none'], [p.num_ignore],
      [`${pct(p.accuracy)} ± ${pct(p.stderr)}`], [fixed(p.avg_thinking_tokens)], [fixed(p.avg_answer_tokens)],
      [fixed(p.avg_waits, 2)], [`${pct(p.forced_end_share, 0)}%`], [`${pct(p.no_answer_share, 0)}%`],
      [`${pct(p.control, 0)}%`], ...extra.map(key => [pct(p[key])]),
      ...(tries ? [[fixed(p.avg_tries)], [`${pct(p.accepted_share, 0)}%`]] : [])];
    for (const [value, cls] of cells) tr.appendChild(el('td', cls, value));
    if (p.instruction) tr.title = `prompt suffix: ${p.instruction}`;
    tr.addEventListener('click', () => selectPoint(state.run, k, null, null));
  });
  const grading = run.grading || {};
  $('grading').textContent = grading.judge
    ? `Graded by the rules, then by the judge ${grading.judge} (${grading.judge_mode}): it saw ${grading.judged} rows, `
      + `overturned ${grading.overturned} rule verdicts, and gave ${grading.unreadable} unreadable replies.`
    : '';
}

function renderPlot() {
  drawPlot($('plot'), $('legend'), DATA.runs,
    (r, c, i, entry) => r === state.run && entry.point !== null && entry.point === state.point
      && (state.curve === null || (state.curve === c && state.index === i)),
    (r, c, i, entry) => selectPoint(r, entry.point, c, i));
}

// ---- the question browser ----

function renderSelection() {
  const run = currentRun(), box = $('selection');
  box.replaceChildren();
  if (state.point === null) { box.textContent = 'No point selected.'; return; }
  box.dataset.point = state.point;
  let label = pointCaption(run, state.point);
  if (state.curve !== null) {
    const curve = run.curves[state.curve], entry = curve.series[state.index];
    if (curve.kind === 'parallel') label += ` · ${curve.label}, ${entry.label}`;
  }
  const point = run.points[state.point];
  box.append('Questions at ', el('strong', 'selected-label', label),
    ` (accuracy ${pct(point.accuracy)}%, ${fixed(point.avg_thinking_tokens)} thinking tokens on average)`);
}

function renderQuestions() {
  const run = currentRun(), index = indexOf(run), f = filters();
  const list = $('questions');
  list.replaceChildren();
  const kept = [];
  for (let q = 0; q < index.questions; q++) if (matches(run, q, f)) kept.push(q);
  list.dataset.count = kept.length;
  $('match-count').textContent = `${kept.length} of ${index.questions} questions`;
  const qd = run.questions_data, fragment = document.createDocumentFragment();
  for (const q of kept.slice(0, state.shown)) {
    const item = el('li');
    item.dataset.q = qd.index[q];
    item.tabIndex = 0;
    if (q === state.question) item.className = 'open';
    item.appendChild(el('span', 'qnum', `#${qd.index[q]}`));
    item.appendChild(el('span', 'qtext', qd.question[q].slice(0, 240)));
    const strip = el('span', 'strip');
    for (let p = 0; p < index.points; p++) {
      const share = index.share[q * index.points + p];
      const cls = Number.isNaN(share) ? '' : share === 1 ? 'right' : share === 0 ? 'wrong' : 'mixed';
      const cell = el('span', `cell ${cls}${p === state.point ? ' at' : ''}`);
      cell.title = `${run.points[p].label}: ${Number.isNaN(share) ? 'no rows' : `${pct(share, 0)}% right`}`;
      strip.appendChild(cell);
    }
    item.appendChild(strip);
    item.addEventListener('click', () => openQuestion(q));
    item.addEventListener('keydown', event => { if (event.key === 'Enter') openQuestion(q); });
    fragment.appendChild(item);
  }
  list.appendChild(fragment);
  $('more').hidden = kept.length <= state.shown;
}

function openQuestion(q) {
  state.question = q;
  for (const item of $('questions').children) item.classList.toggle('open', Number(item.dataset.q) === currentRun().questions_data.index[q]);
  renderDetail();
}

function renderDetail() {
  const run = currentRun(), detail = $('detail'), q = state.question;
  detail.replaceChildren();
  if (q === null) { detail.appendChild(el('p', 'note', 'Open a question to read what the model thought.')); return; }
  const qd = run.questions_data, rows = run.rows;
  detail.dataset.q = qd.index[q];
  detail.appendChild(el('h2', null, `Question #${qd.index[q]}${qd.id[q] !== null ? ` · ${qd.id[q]}` : ''}`));
  detail.appendChild(el('div', 'question', qd.question[q]));
  detail.appendChild(el('p', null, `gold: ${qd.gold[q]}`));

  // Every point and sample of this question: click one to read it.
  const samples = Math.max(1, ...run.points.map((_, p) => rowsAt(run, q, p).length));
  const grid = el('table', 'grid-table');
  headerRow(grid, [['sample', 'text'], ...run.points.map(p => [p.label])]);
  const body = grid.createTBody();
  for (let s = 0; s < samples; s++) {
    const tr = body.insertRow();
    tr.appendChild(el('td', 'text', String(s)));
    run.points.forEach((p, k) => {
      const i = rowsAt(run, q, k).find(r => rows.s[r] === s);
      const td = el('td', k === state.point ? 'at' : null);
      if (i !== undefined) {
        td.appendChild(el('span', rows.correct[i] ? 'mark-right' : 'mark-wrong', rows.correct[i] ? '✓' : '✗'));
        td.append(` ${rows.thinking_tokens[i]}`);
        td.title = `${p.label}, sample ${s}: ${rows.thinking_tokens[i]} thinking tokens`;
      }
      td.addEventListener('click', () => selectPoint(state.run, k, null, null));
      tr.appendChild(td);
    });
  }
  const scroll = el('div', 'grid-scroll');
  scroll.appendChild(grid);
  detail.appendChild(scroll);
  detail.appendChild(el('p', 'note', 'Cells: right (✓) or wrong (✗), and thinking tokens. Highlighted in the traces: '
    + 'forced Waits (yellow), the forced end at the cap (red), and the answer delimiter forced after a natural end (blue).'));
  if (state.point === null) return;
  for (const i of rowsAt(run, q, state.point)) detail.appendChild(sampleCard(run, i));
}

function sampleCard(run, i) {
  const rows = run.rows, card = el('section', 'sample');
  card.dataset.row = i;
  card.dataset.point = rows.p[i];
  card.dataset.sample = rows.s[i];
  const head = el('h3', null, `${run.points[rows.p[i]].label} · sample ${rows.s[i]} · `);
  head.appendChild(el('span', rows.correct[i] ? 'mark-right' : 'mark-wrong', rows.correct[i] ? '✓ right' : '✗ wrong'));
  card.appendChild(head);
  const facts = el('div', 'facts');
  const fact = text => facts.appendChild(el('span', null, text));
  fact(`extracted: ${rows.extracted[i] === null ? '(none)' : rows.extracted[i]}`);
  fact(`thinking tokens: ${rows.thinking_tokens[i]}`);
  fact(`answer tokens: ${rows.answer_tokens[i]}`);
  fact(`Waits: ${rows.waits[i]}`);
  if (rows.capped[i]) fact('capped');
  if (rows.length_stop[i]) fact('answer cut at its length limit');
  if (rows.tries) fact(`tries: ${rows.tries[i]}${rows.accepted && !rows.accepted[i] ? ' (never fit the budget)' : ''}`);
  if (rows.timed_out && rows.timed_out[i]) fact('grading timed out');
  card.appendChild(facts);
  if (rows.judged && rows.judged[i]) {
    const verdict = rows.judge_verdict[i];
    const judge = el('div', 'judge', `judge: ${verdict === null ? 'unreadable (the rules stand)' : verdict ? 'right' : 'wrong'}`
      + ` · rules: ${rows.rule_correct[i] ? 'right' : 'wrong'} · reply: `);
    judge.appendChild(el('q', null, rows.judge_reply[i] ?? ''));
    card.appendChild(judge);
  }
  card.appendChild(trace(run, i));
  card.appendChild(spanList(run, i));
  return card;
}

// The whole output with each forced span highlighted where it sits; the answer section tinted.
function trace(run, i) {
  const text = textOf(run, i), rows = run.rows;
  const thinking = rows.thinking[i];
  const answerAt = typeof thinking === 'string' ? -1 : thinking[0] + thinking[1];
  const pre = el('pre', 'trace');
  const plain = (from, to) => {
    if (to <= from) return;
    if (answerAt > from && answerAt < to) { plain(from, answerAt); plain(answerAt, to); return; }
    pre.appendChild(el('span', answerAt >= 0 && from >= answerAt ? 'answer-part' : 'thinking-part', text.slice(from, to)));
  };
  let at = 0;
  const placed = rows.spans[i].filter(span => span.length === 5).sort((a, b) => a[3] - b[3]);
  for (const [start, end, kind, from, to] of placed) {
    plain(at, from);
    const mark = el('mark', `forced ${SPAN_KINDS.has(kind) ? kind : 'other'}`, text.slice(from, to));
    mark.dataset.start = start;
    mark.dataset.end = end;
    mark.dataset.kind = kind;
    mark.title = `forced ${kind}: output tokens ${start}–${end}`;
    pre.appendChild(mark);
    at = to;
  }
  plain(at, text.length);
  return pre;
}

function spanList(run, i) {
  const list = el('ul', 'span-list'), text = textOf(run, i);
  for (const span of run.rows.spans[i]) {
    const [start, end, kind] = span;
    const shown = span.length === 5 ? text.slice(span[3], span[4]) : span[3];
    const item = el('li');
    item.appendChild(el('span', `key forced ${SPAN_KINDS.has(kind) ? kind : 'other'}`, kind));
    item.append(`output tokens ${start}–${end}: `);
    item.appendChild(el('q', null, shown));
    if (span.length !== 5) item.append(' (not found in the text, so not highlighted)');
    list.appendChild(item);
  }
  return list;
}

// ---- selection ----

function selectRun(r) {
  state.run = r;
  state.point = defaultPoint(DATA.runs[r]);
  state.curve = state.index = state.question = null;
  state.shown = PAGE_SIZE;
  renderAll();
}

function selectPoint(r, p, curve, index) {
  const runChanged = r !== state.run;
  if (runChanged) { state.run = r; state.question = null; state.shown = PAGE_SIZE; }
  state.point = p;
  state.curve = curve;
  state.index = index;
  if (runChanged) renderAll(); else { renderPlot(); renderPoints(); renderBrowser(); }
}

function defaultPoint(run) { return run.points.length ? run.points.length - 1 : null; }

function renderBrowser() {
  const run = currentRun();
  const traces = Boolean(run.rows);
  $('browser').hidden = !traces;
  $('no-traces').hidden = traces;
  if (!traces) {
    const note = $('no-traces-text');
    note.replaceChildren('This page holds the runs\' metrics; their traces are in each run\'s report.html: ');
    DATA.runs.filter(r => r.link).forEach((r, k) => {
      if (k) note.append(', ');
      const link = el('a', null, r.name);
      link.href = r.link;
      note.appendChild(link);
    });
    return;
  }
  $('filter-overturned-box').hidden = !run.rows.judged;
  $('filter-rejected-box').hidden = !run.rows.accepted;
  renderSelection();
  renderQuestions();
  renderDetail();
}

function renderAll() {
  renderHeader();
  renderTable3();
  renderPoints();
  renderPlot();
  renderBrowser();
}

function start() {
  state.point = defaultPoint(currentRun());
  for (const id of ['filter-outcome', 'filter-capped', 'filter-waits', 'filter-no-answer', 'filter-changes',
    'filter-overturned', 'filter-rejected', 'filter-search']) {
    $(id).addEventListener('input', () => { state.shown = PAGE_SIZE; renderQuestions(); });
  }
  $('more').addEventListener('click', () => { state.shown += PAGE_SIZE; renderQuestions(); });
  renderAll();
  window.s1kitReady = true;
}

start();
