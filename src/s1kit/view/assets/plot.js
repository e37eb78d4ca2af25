// The scaling plot as inline SVG: accuracy against average thinking tokens on a symmetric log2 axis
// (as plots.py draws scaling.png: a point at 0 thinking tokens still shows), one line per curve,
// parallel curves dashed, probe-exit's curves over thinking alone dotted, error bars of one standard
// error. Every point is a button; hovering or focusing one shows its accuracy, standard error and
// average thinking (or what its curve's x counts) in a tooltip.

const SVG_NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#2858b8', '#d1495b', '#2e8b57', '#d99a21', '#7b4fb0', '#1b9aaa', '#8c564b', '#c2528b', '#555f6b', '#9a9a1e'];
const PLOT = { width: 660, height: 420, left: 54, right: 18, top: 16, bottom: 46 };

function svgEl(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

// What a sequential curve's x counts (view/data.py X_FIELDS).
const X_WORDS = { avg_thinking_tokens: 'thinking', avg_thinking_and_probe_tokens: 'thinking + probe', avg_answer_tokens: 'answer' };
const LINE_KINDS = new Set(['parallel', 'thinking-only']);

function xWords(curve) { return X_WORDS[curve.x_field] || 'thinking'; }

function symlog2(x) { return x <= 1 ? x : 1 + Math.log2(x); }

function tickValue(t) { return t <= 1 ? t : 2 ** (t - 1); }

// Every curve of the page's runs, with its colour and legend label. A curve over thinking alone takes
// the colour of its run's curve over the same points (probe-exit's over thinking + probe tokens).
function plotCurves(runs) {
  const curves = [];
  let colors = 0;
  const points = curve => curve.series.map(e => e.label).join('\u0000');
  runs.forEach((run, r) => run.curves.forEach((curve, c) => {
    const label = runs.length === 1 ? curve.label : (run.curves.length === 1 ? run.name : `${run.name}: ${curve.label}`);
    const twin = curve.kind === 'thinking-only'
      && curves.find(o => o.run === r && o.curve.kind !== 'thinking-only' && points(o.curve) === points(curve));
    curves.push({ run: r, index: c, curve, label, color: twin ? twin.color : PALETTE[colors++ % PALETTE.length] });
  }));
  return curves;
}

// The tooltip of a point: its curve, label, accuracy ± stderr and thinking tokens, beside the dot.
function showTip(tip, dot, c, e, hint) {
  tip.replaceChildren();
  const line = (text, cls) => {
    const div = document.createElement('div');
    if (cls) div.className = cls;
    div.textContent = text;
    tip.appendChild(div);
  };
  line(`${c.label}: ${e.label}`, 'tip-title');
  line(`accuracy ${(100 * e.accuracy).toFixed(1)}% ± ${(100 * (e.stderr || 0)).toFixed(1)} (stderr)`, 'tip-accuracy');
  line(c.curve.kind === 'parallel'
    ? `thinking ${e.x.toFixed(1)} tokens per question (total over the samples)`
    : `average ${xWords(c.curve)} ${e.x.toFixed(1)} tokens${c.curve.kind === 'thinking-only' ? ' (probes not counted)' : ''}`,
  'tip-thinking');
  line(hint, 'tip-hint');
  tip.hidden = false;
  const box = tip.parentElement.getBoundingClientRect(), at = dot.getBoundingClientRect();
  const left = at.right - box.left + 8, top = at.top - box.top - tip.offsetHeight - 4;
  tip.style.left = `${Math.max(0, Math.min(left, box.width - tip.offsetWidth))}px`;
  tip.style.top = `${top < 0 ? at.bottom - box.top + 4 : top}px`;
}

// isSelected(run, curveIndex, seriesIndex, entry) -> bool; onSelect(run, curveIndex, seriesIndex, entry).
function drawPlot(svg, legend, tip, runs, isSelected, onSelect) {
  svg.replaceChildren();
  legend.replaceChildren();
  tip.hidden = true;
  const curves = plotCurves(runs);
  const entries = curves.flatMap(c => c.curve.series);
  if (!entries.length) return;
  const xs = entries.map(e => symlog2(Math.max(0, e.x)));
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x1 - x0 < 1) { x0 -= 0.5; x1 += 0.5; }
  const pad = (x1 - x0) * 0.06;
  x0 = Math.max(0, x0 - pad); x1 += pad;
  const highest = Math.max(...entries.map(e => 100 * (e.accuracy + (e.stderr || 0))));
  const y1 = Math.min(100, Math.max(10, highest * 1.1));
  const w = PLOT.width - PLOT.left - PLOT.right, h = PLOT.height - PLOT.top - PLOT.bottom;
  const sx = x => PLOT.left + (symlog2(Math.max(0, x)) - x0) / (x1 - x0) * w;
  const sy = y => PLOT.top + h - (100 * y) / y1 * h;

  const grid = svgEl('g', { class: 'grid' }, svg);
  const axis = svgEl('g', { class: 'axis' }, svg);
  const first = Math.ceil(x0), last = Math.floor(x1);
  const step = Math.max(1, Math.ceil((last - first + 1) / 10));
  for (let t = first; t <= last; t += step) {
    const x = PLOT.left + (t - x0) / (x1 - x0) * w;
    svgEl('line', { x1: x, x2: x, y1: PLOT.top, y2: PLOT.top + h }, grid);
    const label = svgEl('text', { x, y: PLOT.top + h + 16, 'text-anchor': 'middle' }, axis);
    label.textContent = String(tickValue(t));
  }
  const yStep = y1 > 50 ? 20 : y1 > 20 ? 10 : 5;
  for (let y = 0; y <= y1 + 1e-9; y += yStep) {
    const py = sy(y / 100);
    svgEl('line', { x1: PLOT.left, x2: PLOT.left + w, y1: py, y2: py }, grid);
    const label = svgEl('text', { x: PLOT.left - 6, y: py + 4, 'text-anchor': 'end' }, axis);
    label.textContent = String(y);
  }
  const xTitle = svgEl('text', { x: PLOT.left + w / 2, y: PLOT.height - 8, 'text-anchor': 'middle' }, axis);
  const probed = curves.some(c => c.curve.x_field === 'avg_thinking_and_probe_tokens');
  const alone = curves.some(c => c.curve.kind === 'thinking-only');
  // A search's curves are parallel but over tree sizes, not over k.
  const searched = curves.some(c => c.curve.kind === 'parallel' && c.curve.series.some(e => !('k' in e)));
  xTitle.textContent = probed
    ? `thinking tokens per question (log2; probe-exit: thinking + probe${alone ? ', dotted: thinking alone' : ''})`
    : searched ? 'tokens per question (log2; rebase, beam: all the tree generated)' : 'thinking tokens per question (log2)';
  const yTitle = svgEl('text', { transform: `translate(14 ${PLOT.top + h / 2}) rotate(-90)`, 'text-anchor': 'middle' }, axis);
  yTitle.textContent = 'accuracy (%)';

  // Lines first, then every dot over them: no curve's line covers another curve's point.
  for (const c of curves) {
    const kind = LINE_KINDS.has(c.curve.kind) ? c.curve.kind : 'sequential';
    const series = c.curve.series;
    const path = series.map((e, i) => `${i ? 'L' : 'M'}${sx(e.x).toFixed(1)},${sy(e.accuracy).toFixed(1)}`).join(' ');
    svgEl('path', { d: path, class: `curve ${kind}`, stroke: c.color }, svg);
    for (const e of series) {
      const x = sx(e.x);
      svgEl('line', { x1: x, x2: x, y1: sy(e.accuracy - (e.stderr || 0)), y2: sy(e.accuracy + (e.stderr || 0)),
        class: 'errbar', stroke: c.color }, svg);
    }
    const item = document.createElement('span');
    const swatch = document.createElement('span');
    swatch.className = `swatch ${kind}`;
    swatch.style.borderTopColor = c.color;
    item.append(swatch, document.createTextNode(c.label));
    legend.appendChild(item);
  }
  for (const c of curves) {
    c.curve.series.forEach((e, i) => {
      const selected = isSelected(c.run, c.index, i, e);
      const dot = svgEl('circle', {
        cx: sx(e.x), cy: sy(e.accuracy), r: selected ? 7 : 5, fill: c.color, tabindex: 0, role: 'button',
        class: selected ? 'pt selected' : 'pt', 'aria-pressed': selected,
        'data-run': c.run, 'data-curve': c.index, 'data-index': i, 'data-label': e.label,
        'aria-label': `${c.label}: ${e.label}, ${(100 * e.accuracy).toFixed(1)}% ± ${(100 * (e.stderr || 0)).toFixed(1)} `
          + `at ${e.x.toFixed(1)} ${xWords(c.curve)} tokens`,
      }, svg);
      const hint = runs[c.run].rows ? 'click to read its questions' : 'click to select it';
      const show = () => showTip(tip, dot, c, e, hint), hide = () => { tip.hidden = true; };
      dot.addEventListener('mouseenter', show);
      dot.addEventListener('focus', show);
      dot.addEventListener('mouseleave', hide);
      dot.addEventListener('blur', hide);
      const choose = () => onSelect(c.run, c.index, i, e);
      dot.addEventListener('click', choose);
      dot.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); choose(); }
      });
      const label = svgEl('text', { x: sx(e.x) + 6, y: sy(e.accuracy) - 7, class: 'pt-label' }, svg);
      label.textContent = e.label;
    });
  }
}
