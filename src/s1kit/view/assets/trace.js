// A sample's output: its facts, a search's tree (tree.js), the judge's verdict, the whole text with
// each forced span highlighted where it sits, and probe-exit's probes; two points of one question
// side by side, the place where their trajectories part marked in both.

const SPAN_KINDS = new Set(['wait', 'cap', 'end', 'exit']);
const FORCED_WHAT = { wait: 'forced a Wait', cap: 'forced the end at its cap', end: 'forced the answer after the model\'s own end',
  exit: 'forced the answer where a probe found it settled' };
// The legend of the traces' highlights, in this order; exit only where the run probes.
const SPAN_LEGEND = [['wait', 'a forced Wait'], ['cap', 'the end forced at the cap'],
  ['end', 'the answer delimiter forced after a natural end'], ['exit', 'the answer forced where a probe\'s answer looked settled (probe-exit)']];

function spanLegend(run) {
  const rows = run.rows;
  const exits = Boolean(rows.probes) || rows.spans.some(cells => cells.some(span => span[2] === 'exit'));
  const legend = el('p', 'note span-legend', 'Highlighted in the traces: ');
  for (const [kind, what] of SPAN_LEGEND) {
    if (kind === 'exit' && !exits) continue;
    const item = el('span', 'legend-item');
    item.dataset.kind = kind;
    item.appendChild(el('span', `key forced ${kind}`, kind));
    item.append(what);
    legend.appendChild(item);
  }
  return legend;
}

function verdictMark(right) {
  return el('span', right ? 'mark-right' : 'mark-wrong', right ? '✓ right' : '✗ wrong');
}

function sampleCard(run, i, forkAt = null) {
  const rows = run.rows, card = el('section', 'sample');
  card.dataset.row = i;
  card.dataset.point = rows.p[i];
  card.dataset.sample = rows.s[i];
  const head = el('h3', null, `${run.points[rows.p[i]].label} · sample ${rows.s[i]} · `);
  head.appendChild(verdictMark(rows.correct[i]));
  const picked = run.combined && run.combined.method === 'best-of-n' && run.combined.choice
    && run.combined.choice[rows.p[i]][rows.q[i]] === rows.s[i];
  if (picked) head.appendChild(el('span', 'badge', 'picked by best-of-n'));
  card.appendChild(head);
  const facts = el('div', 'facts');
  const fact = text => facts.appendChild(el('span', null, text));
  fact(`extracted: ${rows.extracted[i] === null ? '(none)' : rows.extracted[i]}`);
  fact(`thinking tokens: ${rows.thinking_tokens[i]}`);
  fact(`answer tokens: ${rows.answer_tokens[i]}`);
  fact(`Waits: ${rows.waits[i]}`);
  if (rows.capped[i]) fact('capped');
  if (rows.length_stop[i]) fact('answer cut at its length limit');
  if (rows.tries) fact(`tries: ${rows.tries[i]}${rows.accepted && !rows.accepted[i] ? ' (none fit the budget: the last is kept)' : ''}`);
  if (rows.timed_out && rows.timed_out[i]) fact('grading timed out');
  if (rows.probe_tokens && rows.probe_tokens[i] !== null) fact(`probe tokens: ${rows.probe_tokens[i]}`);
  if (rows.exited && rows.exited[i] !== null) fact(rows.exited[i] ? 'exited at a probe' : 'no probe fired');
  const confidence = rows.confidence && rows.confidence[i];
  if (confidence) {
    const [mean, lowest, tail, window] = confidence;
    fact(`confidence: mean ${fixed(mean, 2)} · lowest group ${fixed(lowest, 2)} · tail ${fixed(tail, 2)}`
      + (window === null ? '' : ` (groups of ${window} tokens)`));
  }
  if (rows.stopped_at && rows.stopped_at[i] !== null) fact(`stopped by its confidence at ${rows.stopped_at[i]} thinking tokens`);
  card.appendChild(facts);
  const tree = treeView(run, i);
  if (tree) card.appendChild(tree);
  if (rows.judged && rows.judged[i]) {
    const verdict = rows.judge_verdict[i];
    const judge = el('div', 'judge', `judge: ${verdict === null ? 'unreadable (the rules stand)' : verdict ? 'right' : 'wrong'}`
      + ` · rules: ${rows.rule_correct[i] ? 'right' : 'wrong'}${verdict !== null && verdict !== rows.rule_correct[i] ? ' (overturned)' : ''} · reply: `);
    judge.appendChild(el('q', null, rows.judge_reply[i] ?? ''));
    card.appendChild(judge);
  }
  card.appendChild(trace(run, i, forkAt));
  card.appendChild(spanList(run, i));
  const probes = probeList(run, i);
  if (probes) card.appendChild(probes);
  return card;
}

// probe-exit's probes of a row, in order: where each sat, the answer it read and its confidence;
// the one whose answer the exit rule took (it ends the thinking: the exit span) highlighted.
function probeList(run, i) {
  const probes = run.rows.probes && run.rows.probes[i];
  if (!probes) return null;
  const box = el('div', 'probes');
  const fired = probes.findIndex(probe => probe[4]);
  box.appendChild(el('p', 'probe-title', `Probes: ${probes.length}`
    + (fired >= 0 ? `; the exit rule fired at probe ${fired + 1}, which ended the thinking (the exit span)`
      : probes.length ? '; the exit rule fired at none' : ' (none ran before the thinking ended)')));
  if (!probes.length) return box;
  const table = el('table', 'probe-table');
  headerRow(table, [['probe'], ['thinking tokens'], ['output token'], ['answer', 'text'], ['confidence'], ['fired', 'text']]);
  const body = table.createTBody();
  probes.forEach(([position, thinking, answer, confidence, hit], k) => {
    const tr = body.insertRow();
    tr.dataset.probe = k;
    if (hit) tr.className = 'fired';
    const cells = [[k + 1], [thinking ?? '-'], [position ?? '-'], [answer === null ? '(none)' : answer, 'text'],
      [fixed(confidence, 3)], [hit ? '✓ exit here' : '', 'text']];
    for (const [value, cls] of cells) tr.appendChild(el('td', cls, value));
  });
  box.appendChild(table);
  return box;
}

function placedSpans(run, i) {
  return run.rows.spans[i].filter(span => span.length === 5).sort((a, b) => a[3] - b[3]);
}

// The whole output, forced spans as <mark>, the answer section tinted; with `forkAt`, the text
// before it (shared with the other point) muted and an empty marker element there. The marker's
// label is CSS content, so the trace's text stays exactly the row's text.
function trace(run, i, forkAt = null) {
  const text = textOf(run, i), rows = run.rows;
  const thinking = rows.thinking[i];
  const answerAt = typeof thinking === 'string' ? -1 : thinking[0] + thinking[1];
  const pre = el('pre', 'trace');
  const cuts = [answerAt, forkAt].filter(c => c !== null && c > 0 && c < text.length);
  const plain = (from, to) => {
    if (to <= from) return;
    const cut = cuts.find(c => c > from && c < to);
    if (cut !== undefined) { plain(from, cut); plain(cut, to); return; }
    const part = answerAt >= 0 && from >= answerAt ? 'answer-part' : 'thinking-part';
    pre.appendChild(el('span', forkAt !== null && to <= forkAt ? `${part} shared` : part, text.slice(from, to)));
  };
  const fork = () => {
    const mark = el('span', 'fork');
    mark.title = 'the two points\' trajectories part here';
    pre.appendChild(mark);
  };
  let at = 0, forked = forkAt === null;
  for (const [start, end, kind, from, to] of placedSpans(run, i)) {
    if (!forked && forkAt < to) {  // before this span, or at its start if the texts part inside it
      const stop = Math.min(forkAt, from);
      plain(at, stop); fork(); forked = true; at = Math.max(at, stop);
    }
    plain(at, from);
    const mark = el('mark', `forced ${SPAN_KINDS.has(kind) ? kind : 'other'}`, text.slice(from, to));
    mark.dataset.start = start;
    mark.dataset.end = end;
    mark.dataset.kind = kind;
    mark.title = `forced ${kind}: output tokens ${start}–${end}`;
    pre.appendChild(mark);
    at = to;
  }
  if (!forked) { plain(at, forkAt); fork(); at = Math.max(at, forkAt); }
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

// Where rows i and j part. A sweep reads every point off one trajectory (budget/sweep.py), so up to
// the first forced span one row has and the other lacks, their tokens are the same: that span's
// start is the exact token where they part. Its character offset is checked against the texts'
// common prefix; rows that are not one trajectory (other prompts, samples or tries) part at
// their first differing character, with no token.
function forkOf(run, i, j) {
  const a = textOf(run, i), b = textOf(run, j);
  if (a === b) return { same: true };
  let shared = 0;
  const n = Math.min(a.length, b.length);
  while (shared < n && a.charCodeAt(shared) === b.charCodeAt(shared)) shared++;
  const spansA = placedSpans(run, i), spansB = placedSpans(run, j);
  const key = span => span.join('\u0000');
  const inA = new Set(spansA.map(key)), inB = new Set(spansB.map(key));
  const onlyA = spansA.filter(s => !inB.has(key(s))), onlyB = spansB.filter(s => !inA.has(key(s)));
  const token = Math.min(...[...onlyA, ...onlyB].map(s => s[0]));
  const at = list => list.find(s => s[0] === token) || null;
  const spanA = at(onlyA), spanB = at(onlyB), char = (spanA || spanB || [])[3];
  if (char !== undefined && char <= shared) return { same: false, char, token, spans: new Map([[i, spanA], [j, spanB]]) };
  return { same: false, char: shared, token: null };
}

function forkNote(run, fork, i, j) {
  const rows = run.rows, label = k => run.points[rows.p[k]].label;
  const note = el('p', 'fork-note');
  note.dataset.token = fork.token ?? '';
  if (fork.same) {
    note.textContent = `Sample ${rows.s[i]}: ${label(i)} and ${label(j)} wrote the same output.`;
  } else if (fork.token !== null) {
    const what = k => {
      const span = fork.spans.get(k);
      return span ? `${label(k)} ${FORCED_WHAT[span[2]] || `forced ${span[2]}`}` : `${label(k)} went on as the model chose`;
    };
    note.append(`Sample ${rows.s[i]}: one trajectory up to output token ${fork.token}, where ${what(i)} and ${what(j)}. `);
    note.appendChild(el('span', 'fork-key', 'parts here'));
    note.append(' marks the place in both; the shared text before it is muted.');
  } else {
    note.textContent = `Sample ${rows.s[i]}: not one trajectory (another prompt, sample or try); `
      + `the outputs differ from character ${fork.char}.`;
  }
  return note;
}

// Each sample at points p and c, side by side.
function sideBySide(run, q, p, c) {
  const box = el('div', 'side-by-side');
  box.dataset.points = `${p},${c}`;
  const left = rowsAt(run, q, p), right = rowsAt(run, q, c);
  for (const i of left) {
    const j = right.find(r => run.rows.s[r] === run.rows.s[i]);
    if (j === undefined) { box.appendChild(sampleCard(run, i)); continue; }
    const fork = forkOf(run, i, j);
    const pair = el('div', 'pair');
    pair.appendChild(forkNote(run, fork, i, j));
    const at = fork.same ? null : fork.char;
    pair.appendChild(sampleCard(run, i, at));
    pair.appendChild(sampleCard(run, j, at));
    box.appendChild(pair);
  }
  return box;
}

// Scrolls each marked trace to where its trajectories part (after layout).
function scrollToForks(root) {
  requestAnimationFrame(() => {
    for (const pre of root.querySelectorAll('pre.trace')) {
      const mark = pre.querySelector('.fork');
      if (mark) pre.scrollTop = Math.max(0, mark.offsetTop - pre.clientHeight / 3);
    }
  });
}
