// The trace browser: the list of questions with a mark per point, its filters, and an opened
// question (every point and sample, the steps that changed its verdict, and the samples' traces,
// alone or beside another point's).

const STEP_WORDS = { budget: 'a larger budget', wait: 'one more Wait' };

function filters() {
  return {
    change: $('filter-change').value, outcome: $('filter-outcome').value, capped: $('filter-capped').checked,
    waits: $('filter-waits').checked, noAnswer: $('filter-no-answer').checked,
    overturned: $('filter-overturned').checked, rejected: $('filter-rejected').checked,
    search: $('filter-search').value.trim().toLowerCase(),
  };
}

// Across points (view/changes.py defines them): wrong at every point; fixed or broken by a step of
// a kind, read off the question's changes; or any difference between its points.
function changeMatches(run, q, change) {
  if (change === 'any') return true;
  const index = indexOf(run), shares = [];
  for (let p = 0; p < index.points; p++) {
    const s = index.share[q * index.points + p];
    if (!Number.isNaN(s)) shares.push(s);
  }
  if (change === 'wrong-everywhere') return shares.length > 0 && shares.every(s => s === 0);
  if (change === 'differs') return shares.some(s => s !== shares[0]);
  const [verb, kind] = change.split('-');
  const direction = verb === 'fixed' ? 1 : -1;
  return run.questions_data.changes[q].some(([step, d]) => run.steps[step][2] === kind && d === direction);
}

function matches(run, q, f) {
  if (!changeMatches(run, q, f.change)) return false;
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
  if (f.search) {
    if (!index.lowered) {
      const qd = run.questions_data;
      index.lowered = qd.question.map((text, k) => `${text}\n${qd.id[k] ?? ''}`.toLowerCase());
    }
    if (!index.lowered[q].includes(f.search)) return false;
  }
  return true;
}

// Options of the across-points filter that this run's points cannot satisfy are disabled.
function renderFilterOptions(run) {
  const kinds = new Set(run.steps.map(step => step[2]));
  for (const option of $('filter-change').options) {
    const kind = option.value.split('-')[1];
    option.disabled = (kind === 'budget' || kind === 'wait') && !kinds.has(kind);
  }
  if ($('filter-change').selectedOptions[0].disabled) $('filter-change').value = 'any';
  $('filter-overturned-box').hidden = !run.rows.judged;
  $('filter-rejected-box').hidden = !run.rows.accepted;
}

function shareClass(share) {
  return Number.isNaN(share) ? '' : share === 1 ? 'right' : share === 0 ? 'wrong' : 'mixed';
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
      const cell = el('span', `cell ${shareClass(share)}${p === state.point ? ' at' : ''}${p === state.compare ? ' vs' : ''}`);
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
  const id = currentRun().questions_data.index[q];
  for (const item of $('questions').children) item.classList.toggle('open', Number(item.dataset.q) === id);
  renderDetail();
}

function verdictText(run, q, p) {
  const members = rowsAt(run, q, p);
  const right = members.reduce((n, i) => n + run.rows.correct[i], 0);
  return members.length === 1 ? (right ? '✓' : '✗') : `${right}/${members.length} right`;
}

// The steps (larger budget, one more Wait) that changed this question's verdict; each shows its
// two points side by side.
function changeList(run, q) {
  const found = run.questions_data.changes[q];
  if (!found.length) return null;
  const box = el('div', 'changes');
  box.appendChild(el('span', 'note', 'Verdict changes: '));
  for (const [step, direction] of found) {
    const [from, to, kind] = run.steps[step];
    const button = el('button', direction > 0 ? 'change fixed' : 'change broken',
      `${direction > 0 ? 'fixed' : 'broken'} by ${STEP_WORDS[kind]}: ${run.points[from].label} ${verdictText(run, q, from)}`
      + ` → ${run.points[to].label} ${verdictText(run, q, to)}`);
    button.type = 'button';
    button.dataset.step = step;
    button.title = 'show these two points side by side';
    button.addEventListener('click', () => { state.compare = to; selectPoint(state.run, from, null, null); });
    box.appendChild(button);
  }
  return box;
}

function combinedCell(run, q, p) {
  const c = run.combined;
  if (!c.right) return el('td', 'text', '-');
  const right = c.right[p][q], choice = c.choice[p][q];
  const td = el('td', 'text');
  td.appendChild(el('span', right ? 'mark-right' : 'mark-wrong', right ? '✓' : '✗'));
  td.append(c.method === 'majority' ? ` ${choice === null ? '(no answer)' : short(choice)}` : ` sample ${choice}`);
  return td;
}

function short(text, length = 18) { text = String(text); return text.length > length ? `${text.slice(0, length - 1)}…` : text; }

// Every point (rows) and sample (columns): verdict, extracted answer, thinking tokens.
function pointGrid(run, q) {
  const rows = run.rows, samples = Math.max(1, ...run.points.map((_, p) => rowsAt(run, q, p).length));
  const grid = el('table', 'grid-table');
  const combined = run.combined ? `${run.combined.method === 'majority' ? 'majority' : 'best'} of ${run.combined.k}` : null;
  const several = run.points.length > 1;
  headerRow(grid, [['point', 'text'], ...Array.from({ length: samples }, (_, s) => [samples > 1 ? `sample ${s}` : 'verdict, answer, thinking tokens', 'text']),
    ...(combined ? [[combined, 'text']] : []), ...(several ? [['side by side', 'text']] : [])]);
  const body = grid.createTBody();
  run.points.forEach((point, p) => {
    const tr = body.insertRow();
    tr.dataset.point = p;
    tr.className = p === state.point ? 'at' : p === state.compare ? 'vs' : '';
    tr.appendChild(el('td', 'text', point.label));
    const members = rowsAt(run, q, p);
    for (let s = 0; s < samples; s++) {
      const i = members.find(r => rows.s[r] === s), td = el('td', 'text');
      if (i !== undefined) {
        td.appendChild(el('span', rows.correct[i] ? 'mark-right' : 'mark-wrong', rows.correct[i] ? '✓' : '✗'));
        td.append(` ${rows.extracted[i] === null ? '(none)' : short(rows.extracted[i])} `);
        td.appendChild(el('span', 'tokens', `${rows.thinking_tokens[i]} tok`));
        if (rows.judged && rows.judged[i] && rows.correct[i] !== rows.rule_correct[i]) td.appendChild(el('span', 'badge', 'judge'));
        td.title = `${point.label}, sample ${s}: extracted ${rows.extracted[i] ?? '(none)'}, ${rows.thinking_tokens[i]} thinking tokens`
          + (rows.tries ? `, ${rows.tries[i]} tries` : '');
      }
      tr.appendChild(td);
    }
    if (combined) tr.appendChild(combinedCell(run, q, p));
    tr.addEventListener('click', () => selectPoint(state.run, p, null, null));
    if (!several) return;
    const cell = el('td', 'text'), button = el('button', 'vs-button', '⇆');
    button.type = 'button';
    button.title = `show ${point.label} beside ${run.points[state.point ?? 0].label}`;
    button.setAttribute('aria-label', `side by side with ${point.label}`);
    button.setAttribute('aria-pressed', String(p === state.compare));
    button.disabled = p === state.point;
    button.addEventListener('click', event => { event.stopPropagation(); setCompare(p === state.compare ? null : p); });
    cell.appendChild(button);
    tr.appendChild(cell);
  });
  const scroll = el('div', 'grid-scroll');
  scroll.appendChild(grid);
  return scroll;
}

// Keeps the selected point's row of the grid in view (the grid is drawn again on each selection).
function scrollToSelected(root) {
  requestAnimationFrame(() => {
    const scroll = root.querySelector('.grid-scroll'), row = scroll && scroll.querySelector('tr.at');
    if (row && (row.offsetTop < scroll.scrollTop || row.offsetTop + row.offsetHeight > scroll.scrollTop + scroll.clientHeight)) {
      scroll.scrollTop = Math.max(0, row.offsetTop - scroll.clientHeight / 3);
    }
  });
}

function compareControl(run) {
  const label = el('label', 'compare-control', 'Side by side with ');
  const select = el('select');
  select.id = 'compare-point';
  select.appendChild(new Option('none (this point only)', ''));
  run.points.forEach((point, p) => {
    const option = new Option(point.label, String(p));
    option.disabled = p === state.point;
    select.appendChild(option);
  });
  select.value = state.compare === null ? '' : String(state.compare);
  select.addEventListener('change', () => setCompare(select.value === '' ? null : Number(select.value)));
  label.appendChild(select);
  return label;
}

function setCompare(p) {
  state.compare = p;
  renderQuestions();
  renderDetail();
}

// What the parallel method made of this question's samples at point p.
function combinedNote(run, q, p) {
  const c = run.combined, members = rowsAt(run, q, p), rows = run.rows;
  if (!c || !members.length) return null;
  const note = el('p', 'combined');
  if (!c.right) {
    note.textContent = c.unknown === 'config'
      ? `The ${c.method} verdict is not shown: the run has no config.json, whose seed breaks its ties.`
      : `best-of-${c.k} picks by the scorer ${c.scorer}, the user's own code, which the page does not run.`;
    return note;
  }
  const right = c.right[p][q], choice = c.choice[p][q];
  if (c.method === 'majority') {
    const votes = new Map();
    for (const i of members) if (rows.extracted[i] !== null) votes.set(rows.extracted[i], (votes.get(rows.extracted[i]) || 0) + 1);
    const counted = [...votes].sort((a, b) => b[1] - a[1]);
    const tally = counted.map(([answer, n]) => `${short(answer, 30)} ×${n}`).join(', ');
    const tie = counted.length > 1 && counted[0][1] === counted[1][1] ? ', a tie broken by the run\'s seed' : '';
    note.append(`Majority vote of the ${c.k} samples (${tally || 'no answers'}): `
      + `${choice === null ? 'no answer' : short(choice, 40)}${tie} → `);
  } else {
    note.append(`best-of-${c.k} (scorer: ${c.scorer || 'shortest'}) picks sample ${choice} → `);
  }
  note.appendChild(verdictMark(right));
  return note;
}

function renderDetail() {
  const run = currentRun(), detail = $('detail'), q = state.question;
  detail.replaceChildren();
  if (q === null) { detail.appendChild(el('p', 'note', 'Open a question to read what the model thought.')); return; }
  const qd = run.questions_data;
  detail.dataset.q = qd.index[q];
  detail.appendChild(el('h2', null, `Question #${qd.index[q]}${qd.id[q] !== null ? ` · ${qd.id[q]}` : ''}`));
  detail.appendChild(el('div', 'question', qd.question[q]));
  detail.appendChild(el('p', 'gold', `gold: ${qd.gold[q]}`));
  const changes = changeList(run, q);
  if (changes) detail.appendChild(changes);
  detail.appendChild(pointGrid(run, q));
  detail.appendChild(el('p', 'note', `Click a point to read its samples${run.points.length > 1 ? '; ⇆ shows another point beside it' : ''}.`));
  detail.appendChild(spanLegend(run));
  if (state.point === null) return;
  if (run.points.length > 1) detail.appendChild(compareControl(run));
  const note = combinedNote(run, q, state.point);
  if (note) detail.appendChild(note);
  scrollToSelected(detail);
  if (state.compare !== null && state.compare !== state.point) {
    detail.appendChild(sideBySide(run, q, state.point, state.compare));
    scrollToForks(detail);
  } else {
    for (const i of rowsAt(run, q, state.point)) detail.appendChild(sampleCard(run, i));
  }
}
