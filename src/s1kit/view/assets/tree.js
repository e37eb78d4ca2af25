// rebase's and beam's search tree of a row (view/data.py tree_cell) as inline SVG: depth from left
// to right, the prompt first; each node coloured by its reward, each leaf labelled with its answer,
// the path from the prompt to the leaf whose trace the row shows highlighted, a node's step and
// reward in its tooltip. Sizes shrink with the tree, within bounds that keep it readable: a tree
// larger than a screen scrolls in its box rather than shrinking to dots.

const TREE = {
  height: 480, width: 760,  // what a tree aims to fit in, before it scrolls
  slot: [12, 26],           // pixels between two rows of nodes
  level: [16, 90],          // pixels between two depths
  radius: [2.5, 6],
  label: 16,                // characters of a leaf's answer shown (all of it in its tooltip)
  most: 5000,               // nodes drawn; a larger tree gets its summary alone
};
// Low to high reward: the page's wrong red, an amber, its right green.
const REWARD_STOPS = [[200, 65, 75], [232, 178, 60], [46, 139, 87]];

function clamp(value, [low, high]) { return Math.min(high, Math.max(low, value)); }

function plural(count, word, many = `${word}s`) { return `${count.toLocaleString('en')} ${count === 1 ? word : many}`; }

function answerText(answer) { return answer === null ? '(none)' : answer; }

function treeSummary(cell) {
  const [weighted, majority, best] = cell.votes.map(answerText);
  return `${plural(cell.nodes.length, 'node')}, ${plural(cell.leaves.length, 'leaf', 'leaves')}, `
    + `${plural(cell.tokens, 'token')}, ${plural(cell.prm_calls, 'PRM call')}; `
    + `weighted vote ${weighted}, majority ${majority}, best leaf ${best}`;
}

// Rewards in [0, 1] (a checker's, a probability) are coloured on [0, 1]; other scales on the
// tree's own range.
function rewardScale(cell) {
  const rewards = cell.nodes.map(node => node[2]);
  const low = Math.min(...rewards), high = Math.max(...rewards);
  return low >= 0 && high <= 1 ? [0, 1] : [low, high];
}

function rewardColor(reward, [low, high]) {
  const t = high > low ? (reward - low) / (high - low) : 0.5;
  const half = t < 0.5 ? 0 : 1, u = t < 0.5 ? t * 2 : t * 2 - 1;
  const [a, b] = [REWARD_STOPS[half], REWARD_STOPS[half + 1]];
  return `rgb(${a.map((c, k) => Math.round(c + (b[k] - c) * u)).join(',')})`;
}

// Positions, the prompt at index 0 and node k at k + 1: nodes with no children take one row each,
// in depth-first order (so a subtree's rows are together), and a node with children sits at their
// middle. Parents come before their children (tree_cell checks it), so one pass from the end
// places every parent after its children.
function treeLayout(cell) {
  const count = cell.nodes.length + 1;
  const children = Array.from({ length: count }, () => []), depth = new Array(count).fill(0);
  cell.nodes.forEach(([parent], k) => {
    const from = parent === null ? 0 : parent + 1;
    children[from].push(k + 1);
    depth[k + 1] = depth[from] + 1;
  });
  const row = new Array(count);
  let rows = 0;
  const stack = [0];
  while (stack.length) {
    const at = stack.pop();
    if (!children[at].length) row[at] = rows++;
    for (let c = children[at].length - 1; c >= 0; c--) stack.push(children[at][c]);
  }
  for (let at = count - 1; at >= 0; at--) {
    const own = children[at];
    if (own.length) row[at] = own.reduce((sum, c) => sum + row[c], 0) / own.length;
  }
  return { children, depth, row, rows, depths: Math.max(...depth) };
}

function chosenPath(cell) {
  const path = new Set();
  for (let at = cell.chosen; at !== null; at = cell.nodes[at][0]) path.add(at);
  return path;
}

function nodeTitle(cell, k, depth, leafAnswer, chosen) {
  const [, tokens, reward, step] = cell.nodes[k];
  const lines = [`node ${k} · depth ${depth} · reward ${fixed(reward, 3)} · ${plural(tokens, 'token')}`];
  if (leafAnswer !== undefined) lines.push(`leaf: answer ${answerText(leafAnswer)}`);
  if (chosen) lines.push(k === cell.chosen ? 'the leaf whose trace is shown' : 'on the path to the trace shown');
  lines.push(step === '' ? '(empty step)' : step);
  return lines.join('\n');
}

function treeView(run, i) {
  const cell = run.rows.tree && run.rows.tree[i];
  if (!cell) return null;
  const box = el('div', 'search-tree');
  box.appendChild(el('p', 'tree-summary', treeSummary(cell)));
  if (cell.nodes.length > TREE.most) {
    box.appendChild(el('p', 'note', `Too large to draw here (it is drawn up to ${TREE.most.toLocaleString('en')} nodes).`));
    return box;
  }
  const scale = rewardScale(cell);
  box.appendChild(treeLegend(scale));
  const scroll = el('div', 'tree-scroll'), svg = treeSvg(cell, scale);
  scroll.appendChild(svg);
  box.appendChild(scroll);
  // A tree larger than its box opens on the leaf whose trace is shown (after layout).
  requestAnimationFrame(() => {
    const leaf = svg.querySelector(`circle.tree-node[data-node="${cell.chosen}"]`);
    if (!leaf) return;
    scroll.scrollTop = Math.max(0, Number(leaf.getAttribute('cy')) - scroll.clientHeight / 2);
    scroll.scrollLeft = Math.max(0, Number(leaf.getAttribute('cx')) - scroll.clientWidth / 2);
  });
  return box;
}

function treeLegend([low, high]) {
  const legend = el('p', 'note tree-legend', 'Reward ');
  legend.appendChild(el('span', 'tree-scale-end', fixed(low, 2)));
  const bar = el('span', 'tree-scale');
  bar.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1]
    .map(t => rewardColor(low + t * (high - low), [low, high])).join(', ')})`;
  legend.appendChild(bar);
  legend.appendChild(el('span', 'tree-scale-end', fixed(high, 2)));
  for (const [kind, what] of [['leaf', 'a leaf, its answer beside it'], ['chosen', 'the path to the trace shown'],
    ['idle', 'a node not expanded further']]) {
    const item = el('span', 'legend-item');
    item.appendChild(el('span', `tree-key ${kind}`));
    item.append(what);
    legend.appendChild(item);
  }
  legend.append('; hover a node for its step.');
  return legend;
}

function treeSvg(cell, scale) {
  const layout = treeLayout(cell), path = chosenPath(cell);
  const leaves = new Map(cell.leaves);
  const slot = clamp(TREE.height / layout.rows, TREE.slot), level = clamp(TREE.width / layout.depths, TREE.level);
  const radius = clamp(Math.min(slot, level) * 0.3, TREE.radius), font = clamp(slot * 0.8, [9, 12]);
  const shown = answer => {
    const text = answerText(answer);
    return text.length > TREE.label ? `${text.slice(0, TREE.label - 1)}…` : text;
  };
  // Room for the labels: a leaf's row is free to its right (no deeper node shares it).
  const labelRoom = Math.max(0, ...cell.leaves.map(([k, answer]) => (layout.depth[k + 1] - layout.depths) * level
    + shown(answer).length * font * 0.62)) + 2 * radius + 8;
  const left = 14, top = 6;
  const x = at => left + layout.depth[at] * level, y = at => top + (layout.row[at] + 0.5) * slot;
  const width = Math.ceil(left + layout.depths * level + labelRoom), height = Math.ceil(top * 2 + layout.rows * slot);
  const svg = svgEl('svg', { class: 'tree', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `search tree: ${treeSummary(cell)}` });
  const edges = svgEl('g', { class: 'tree-edges' }, svg), onPath = svgEl('g', { class: 'tree-edges chosen' }, svg);
  cell.nodes.forEach(([parent], k) => {
    const from = parent === null ? 0 : parent + 1, to = k + 1, middle = (x(from) + x(to)) / 2;
    svgEl('path', { class: `tree-edge${path.has(k) ? ' chosen' : ''}`, 'data-node': k,
      d: `M${x(from)},${y(from)} C${middle},${y(from)} ${middle},${y(to)} ${x(to)},${y(to)}` }, path.has(k) ? onPath : edges);
  });
  const root = svgEl('rect', { class: 'tree-root', x: x(0) - radius, y: y(0) - radius, width: 2 * radius,
    height: 2 * radius }, svg);
  svgEl('title', {}, root).textContent = 'the prompt';
  const nodes = svgEl('g', { class: 'tree-nodes' }, svg);
  cell.nodes.forEach((node, k) => {
    const at = k + 1, leaf = leaves.has(k), chosen = path.has(k);
    const kind = leaf ? ' leaf' : layout.children[at].length ? '' : ' idle';
    const circle = svgEl('circle', { class: `tree-node${kind}${chosen ? ' chosen' : ''}`, cx: x(at), cy: y(at),
      r: radius, fill: rewardColor(node[2], scale), 'data-node': k, 'data-reward': node[2] }, nodes);
    svgEl('title', {}, circle).textContent = nodeTitle(cell, k, layout.depth[at], leaves.get(k), chosen);
  });
  const labels = svgEl('g', { class: 'tree-labels' }, svg);
  for (const [k, answer] of cell.leaves) {
    const label = svgEl('text', { class: `tree-label${k === cell.chosen ? ' chosen' : ''}`, 'data-node': k,
      x: x(k + 1) + radius + 4, y: y(k + 1), 'font-size': font, 'dominant-baseline': 'central' }, labels);
    label.textContent = shown(answer);
  }
  return svg;
}
