// The page: header, plot, the paper's metrics, and a browser of every question's traces. All text
// from the run goes in with textContent: a question or a trace is shown, never interpreted.

const DATA = JSON.parse(document.getElementById('s1kit-data').textContent);
const PAGE_SIZE = 300;
// point: the selected point (A); compare: the point shown beside it (B), or null.
const state = { run: 0, point: null, compare: null, curve: null, index: null, question: null, shown: PAGE_SIZE };

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
  renderConfig(run);
  renderWarnings();
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

// Where a run's metrics.json disagrees with its rows (an edited or stale file): every run's, always shown.
function renderWarnings() {
  const list = $('warnings');
  list.replaceChildren();
  for (const run of DATA.runs) {
    for (const warning of run.warnings || []) list.appendChild(el('li', null, warning));
  }
  list.hidden = !list.children.length;
}

// The settings that shape the curves in one line; every setting of config.json in a table below it.
const KEY_SETTINGS = ['budgets', 'num_ignore', 'samples', 'temperature', 'top_p', 'seed', 'max_answer_tokens',
  'wait_string', 'format', 'judge', 'limit'];

function settingText(value) {
  return value === null || value === undefined ? 'none' : typeof value === 'string' ? value : JSON.stringify(value);
}

function renderConfig(run) {
  const config = run.config, summary = $('config-summary'), table = $('config');
  table.replaceChildren();
  if (!config) {
    summary.textContent = `${DATA.runs.length > 1 ? `${run.name}: ` : ''}no config.json in the run's folder`;
    return;
  }
  summary.textContent = `${DATA.runs.length > 1 ? `${run.name}: ` : ''}`
    + KEY_SETTINGS.filter(key => key in config).map(key => `${key} ${settingText(config[key])}`).join(' · ')
    + ' (every setting)';
  const body = table.createTBody();
  for (const [key, value] of Object.entries(config)) {
    const tr = body.insertRow();
    tr.appendChild(el('th', 'text', key));
    tr.appendChild(el('td', 'text', settingText(value)));
  }
}

function headerRow(table, names) {
  const row = table.createTHead().insertRow();
  for (const [name, cls] of names) row.appendChild(el('th', cls, name));
}

// Table 3 over every run of the page (view/data.py page_table; compare.html: compare.md's rows), with
// compare.md's two columns against budget forcing where some curve has a run to be set against
// (always on compare.html).
function renderTable3() {
  const table = $('table3'), rows = DATA.table || [];
  table.replaceChildren();
  const multi = DATA.runs.length > 1;
  const againstBf = Boolean(DATA.compare) || rows.some(r => r.compared_with !== null);
  headerRow(table, [...(multi ? [['run', 'text']] : []), ['method', 'text'], ['curve', 'text'], ['kind', 'text'],
    ['Control (%)'], ['Scaling'], ['Performance (%)'], ['|A|'],
    ...(againstBf ? [['tokens to match'], ['acc. at BF natural length (%)']] : [])]);
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    if (r.kind === 'thinking-only') tr.className = 'thinking-only';
    const cells = [...(multi ? [[r.run, 'text']] : []), [r.method, 'text'], [r.curve, 'text'], [r.kind, 'text'],
      [pct(r.control, 0)], [fixed(r.scaling)], [pct(r.performance)], [r.points],
      ...(againstBf ? [[tokensToMatch(r)], [r.compared_with === null ? '-' : pct(r.accuracy_at_bf_length)]] : [])];
    for (const [value, cls] of cells) tr.appendChild(el('td', cls, value));
    if (againstBf && r.compared_with !== null) tr.title = `set against ${r.compared_with}`;
  }
  $('bf-note').hidden = !againstBf;
  const leftOut = DATA.left_out || [];
  $('left-out').hidden = !leftOut.length;
  $('left-out').textContent = leftOut.length ? `Left out: ${leftOut.join('; ')} (over thinking tokens alone, `
    + 'without the probe tokens the runs spent; each run\'s report shows them).' : '';
}

function tokensToMatch(r) {
  if (r.compared_with === null) return '-';
  return r.tokens_to_match === null ? 'never' : fixed(r.tokens_to_match, 0);
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
  const probes = run.points.some(p => 'avg_probe_tokens' in p);
  headerRow(table, [['point', 'text'], ['cap'], ['ignores'], ['accuracy (%)'], ['avg thinking'], ['avg answer'],
    ['waits'], ['capped'], ['no answer'], ['control'], ...extra.map(k => [k]),
    ...(tries ? [['avg tries'], ['accepted']] : []),
    ...(probes ? [['avg probe'], ['thinking + probe'], ['exited']] : [])]);
  const body = table.createTBody();
  run.points.forEach((p, k) => {
    const tr = body.insertRow();
    tr.dataset.point = k;
    if (k === state.point) tr.className = 'selected';
    const cells = [[p.label, 'text'], [p.max_thinking_tokens ?? 'none'], [p.num_ignore],
      [`${pct(p.accuracy)} ± ${pct(p.stderr)}`], [fixed(p.avg_thinking_tokens)], [fixed(p.avg_answer_tokens)],
      [fixed(p.avg_waits, 2)], [`${pct(p.forced_end_share, 0)}%`], [`${pct(p.no_answer_share, 0)}%`],
      [`${pct(p.control, 0)}%`], ...extra.map(key => [pct(p[key])]),
      ...(tries ? [[fixed(p.avg_tries)], [`${pct(p.accepted_share, 0)}%`]] : []),
      ...(probes ? [[fixed(p.avg_probe_tokens)], [fixed(p.avg_thinking_and_probe_tokens)], [`${pct(p.exited_share, 0)}%`]] : [])];
    for (const [value, cls] of cells) tr.appendChild(el('td', cls, value));
    if (p.instruction) tr.title = `prompt suffix: ${p.instruction}`;
    tr.addEventListener('click', () => selectPoint(state.run, k, null, null));
  });
  const grading = run.grading || {};
  $('grading').textContent = grading.judge
    ? `Graded by the rules, then by the judge ${grading.judge} (${grading.judge_mode}): it saw ${grading.judged} rows, `
      + `overturned ${grading.overturned} rule verdicts, and gave ${grading.unreadable} unreadable replies.`
    : '';
  renderCurveTables(run);
}

// As report.md: each parallel curve's accuracy over k samples (a search's: per tree size), and the
// tokens the run decoded.
function renderCurveTables(run) {
  const box = $('curve-tables');
  box.replaceChildren();
  for (const curve of run.curves.filter(c => c.kind === 'parallel')) {
    const search = !curve.series.every(entry => 'k' in entry);
    box.appendChild(el('h3', null, `${curve.label}: accuracy ${search ? 'per tree size' : 'over k samples'}`));
    const table = el('table', 'k-table');
    headerRow(table, search
      ? [['tree', 'text'], ['accuracy (%)'], ['tokens per question (all the tree generated)']]
      : [['k', 'text'], ['accuracy (%)'], ['thinking tokens per question (total over k)']]);
    const body = table.createTBody();
    for (const entry of curve.series) {
      const tr = body.insertRow();
      for (const [value, cls] of [[entry.label, 'text'], [`${pct(entry.accuracy)} ± ${pct(entry.stderr)}`], [fixed(entry.x)]]) {
        tr.appendChild(el('td', cls, value));
      }
    }
    box.appendChild(table);
  }
  const tokens = run.tokens;
  if (!tokens) return;
  box.appendChild(el('p', 'note', tokens.ratio_to_largest === null || tokens.ratio_to_largest === undefined
    ? `Decoded ${tokens.decoded.toLocaleString('en')} tokens for all points.`
    : `Decoded ${tokens.decoded.toLocaleString('en')} tokens for all points; the largest point alone needs `
      + `${tokens.largest_point_alone.toLocaleString('en')} (ratio ${fixed(tokens.ratio_to_largest, 2)}x); independent runs `
      + `of every point would decode ${tokens.independent_runs.toLocaleString('en')}.`));
}

function renderPlot() {
  drawPlot($('plot'), $('legend'), $('plot-tip'), DATA.runs,
    (r, c, i, entry) => r === state.run && entry.point !== null && entry.point === state.point
      && (state.curve === null || (state.curve === c && state.index === i)),
    (r, c, i, entry) => selectPoint(r, entry.point, c, i));
}

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
  if (state.compare !== null) {
    box.append(', beside ', el('strong', 'compare-label', pointCaption(run, state.compare)));
  }
}

// ---- selection ----

function selectRun(r) {
  state.run = r;
  state.point = defaultPoint(DATA.runs[r]);
  state.curve = state.index = state.question = state.compare = null;
  state.shown = PAGE_SIZE;
  renderAll();
}

function selectPoint(r, p, curve, index) {
  const runChanged = r !== state.run;
  if (runChanged) { state.run = r; state.question = state.compare = null; state.shown = PAGE_SIZE; }
  state.point = p;
  if (state.compare === p) state.compare = null;
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
  renderFilterOptions(run);
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
  for (const id of ['filter-change', 'filter-outcome', 'filter-capped', 'filter-waits', 'filter-no-answer',
    'filter-overturned', 'filter-rejected', 'filter-search']) {
    $(id).addEventListener('input', () => { state.shown = PAGE_SIZE; renderQuestions(); });
  }
  $('more').addEventListener('click', () => { state.shown += PAGE_SIZE; renderQuestions(); });
  renderAll();
  window.s1kitReady = true;
}

start();
