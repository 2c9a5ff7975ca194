// transposed_stamps.js: chapter 7's explorer. A transposed convolution stamps the kernel w,
// scaled by each input value x[r, c], onto a canvas with its corner at (S·r, S·c) and its taps
// D apart; overlapping stamps add. The output is that canvas with P rows and columns cropped
// from every side (drawn hatched here, values and all) and OP rows and columns kept at the
// bottom and right. The sentence under the formulas says why OP exists: a convolution with
// stride S maps several input sizes to the same output size.

const CELL = 26; // canvas cells
const SMALL = 22; // input, kernel and stamp cells
const MAX_CANVAS = 2500; // cells; larger canvases (only from Python) are not drawn

// conv.transposed.transposed_output_size: the same checks in the same order, the same messages.
function transposedOutputSize(size, kernel, stride = 1, padding = 0, dilation = 1, op = 0) {
  checkInt("size", size, 1);
  checkInt("kernel", kernel, 1);
  checkInt("stride", stride, 1);
  checkInt("padding", padding, 0);
  checkInt("dilation", dilation, 1);
  checkInt("output_padding", op, 0);
  const most = Math.max(stride, dilation);
  if (op >= most) {
    throw new GeometryError(
      "output_padding must be smaller than the stride or the dilation, " +
        `0 <= OP < max(S, D) = ${most}, got ${op}`,
    );
  }
  const out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + op + 1;
  if (out < 1) {
    const opText = op ? ` + ${op}` : "";
    throw new GeometryError(
      `(${size} - 1)*${stride} - 2*${padding} + ${dilation}*(${kernel} - 1)${opText} + 1 = ` +
        `${out}: the padding ${padding} crops away the whole output`,
    );
  }
  return out;
}

// The explorer's own limit (the arrays it holds), worded as TransposedStamps.compute words it.
function checkFits(p, x, w) {
  const [rows, cols] = [x.length, x[0].length];
  const [krows, kcols] = [w.length, w[0].length];
  const limits = [
    ["H", p.H, rows, `${rows}x${cols} input x`],
    ["W", p.W, cols, `${rows}x${cols} input x`],
    ["KH", p.KH, krows, `${krows}x${kcols} kernel w`],
    ["KW", p.KW, kcols, `${krows}x${kcols} kernel w`],
  ];
  for (const [letter, value, limit, what] of limits) {
    if (value > limit) {
      throw new GeometryError(
        `${letter} must be <= ${limit}: this explorer holds a ${what}, got ${value}`,
      );
    }
  }
}

// The convolution input sizes n >= 1 that a convolution (kernel k, S, P, D, floor mode) maps
// to `size`: they start at the transposed formula's value with OP = 0 and run S - 1 further.
function convSizes(size, k, S, P, D) {
  const first = (size - 1) * S - 2 * P + D * (k - 1) + 1;
  const out = [];
  for (let n = Math.max(1, first); n < first + S; n++) {
    let o = null;
    try {
      o = outputSize(n, k, S, P, D, true);
    } catch (e) {
      o = null;
    }
    if (o === size) out.push(n);
  }
  return out;
}

// Whether the picture can be drawn for p (integers in range, arrays big enough).
function drawable(p, x, w) {
  const int = (v, lo, hi = Infinity) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!(int(p.H, 1, x.length) && int(p.W, 1, x[0].length))) return false;
  if (!(int(p.KH, 1, w.length) && int(p.KW, 1, w[0].length))) return false;
  return int(p.S, 1) && int(p.D, 1) && int(p.P, 0) && int(p.OP, 0);
}

// The uncropped canvas: OH + 2P rows (the stamps reach (H - 1)·S + D·(KH - 1) + 1 of them,
// OP more at the end), the sum of all stamps and how many taps land on each cell.
function stampCanvas(p, x, w) {
  const reachH = (p.H - 1) * p.S + p.D * (p.KH - 1) + 1;
  const reachW = (p.W - 1) * p.S + p.D * (p.KW - 1) + 1;
  const CH = reachH + p.OP;
  const CW = reachW + p.OP;
  const sum = Array.from({ length: CH }, () => new Array(CW).fill(0));
  const hits = Array.from({ length: CH }, () => new Array(CW).fill(0));
  for (let a = 0; a < p.H; a++) {
    for (let b = 0; b < p.W; b++) {
      for (let i = 0; i < p.KH; i++) {
        for (let j = 0; j < p.KW; j++) {
          const R = a * p.S + i * p.D;
          const C = b * p.S + j * p.D;
          sum[R][C] += x[a][b] * w[i][j];
          hits[R][C] += 1;
        }
      }
    }
  }
  return { sum, hits, CH, CW, OH: CH - 2 * p.P, OW: CW - 2 * p.P };
}

function selected(p, x) {
  const H = Math.max(1, Math.min(p.H | 0, x.length));
  const W = Math.max(1, Math.min(p.W | 0, x[0].length));
  const clamp = (v, n) => Math.max(0, Math.min(v | 0, n - 1));
  return [clamp(p.row, H), clamp(p.col, W)];
}

// Output positions [R, C] (inside the cropped output) the stamp of x[r, c] writes, row-major.
function stampCells(p, r, c, OH, OW) {
  const out = [];
  for (let i = 0; i < p.KH; i++) {
    const R = r * p.S + i * p.D - p.P;
    if (R < 0 || R >= OH) continue;
    for (let j = 0; j < p.KW; j++) {
      const C = c * p.S + j * p.D - p.P;
      if (C >= 0 && C < OW) out.push([R, C]);
    }
  }
  return out;
}

// The input rows a (and kernel rows i) with a·S + i·D = R: who writes canvas row R.
function writers(R, n, k, S, D) {
  const out = [];
  for (let a = 0; a < n; a++) {
    const rest = R - a * S;
    if (rest >= 0 && rest % D === 0 && rest / D < k) out.push([a, rest / D]);
  }
  return out;
}

const minus = (v) => String(v).replace(/-/g, "−");
const paren = (v) => (v < 0 ? `(${minus(v)})` : String(v));

function sizeFormula(n, k, p, [N, K]) {
  const value = (n - 1) * p.S - 2 * p.P + p.D * (k - 1) + p.OP + 1;
  const note = value < 1 ? " < 1: the crop leaves nothing" : "";
  return (
    `O${N} = (${N} − 1)·S − 2P + D·(${K} − 1) + OP + 1 = ` +
    `(${n} − 1)·${p.S} − 2·${p.P} + ${p.D}·(${k} − 1) + ${p.OP} + 1 = ${minus(value)}${note}`
  );
}

function ambiguity(n, k, p, [N, K]) {
  const sizes = convSizes(n, k, p.S, p.P, p.D);
  const conv = `a convolution with ${K} = ${k}, S = ${p.S}, P = ${p.P}, D = ${p.D}`;
  let text;
  if (!sizes.length) text = `No input size makes ${conv} give ${N} = ${n}`;
  else if (sizes.length === 1) text = `Only input size ${sizes[0]} makes ${conv} give ${N} = ${n}`;
  else
    text = `${conv[0].toUpperCase()}${conv.slice(1)} maps every input size in {${sizes.join(", ")}} to ${N} = ${n}`;
  const most = Math.max(p.S, p.D);
  const o = (n - 1) * p.S - 2 * p.P + p.D * (k - 1) + p.OP + 1;
  if (p.OP >= most) return `${text}; OP = ${p.OP} is not allowed: OP < max(S, D) = ${most}.`;
  if (o < 1) return `${text}; OP = ${p.OP} gives O${N} = ${minus(o)}: nothing is left.`;
  if (sizes.includes(o)) {
    const lo = sizes[0] - (o - p.OP); // the OP that gives the smallest size in the set
    const pick = sizes.length > 1 ? ` (OP = ${lo}…${lo + sizes.length - 1} picks one of them)` : "";
    return `${text}; OP = ${p.OP} gives O${N} = ${o}${pick}.`;
  }
  let back = null;
  try {
    back = outputSize(o, k, p.S, p.P, p.D, true);
  } catch (e) {
    back = null;
  }
  return (
    `${text}; OP = ${p.OP} gives O${N} = ${o}, outside that set: the convolution maps ${o} ` +
    `to ${back}, not ${n} (OP ≥ S is allowed only because D > S).`
  );
}

// SVG markup built as strings and parsed in one go, with the structure and classes of
// common.js's cell() (a <g class="cx-cell ..."> holding a rect and a centred text).
function cellMarkup(x, y, size, cls, text, hatch, attrs = "") {
  const fill = hatch && cls.includes("cx-pad") ? ` style="fill: ${hatch}"` : "";
  let out = `<g class="cx-cell ${cls}"${attrs}><rect x="${x}" y="${y}" width="${size}" height="${size}"${fill}></rect>`;
  if (text !== null && text !== "") {
    const fs = String(text).length >= 4 ? size * 0.34 : Math.min(size * 0.42, 13);
    out += `<text x="${x + size / 2}" y="${y + size / 2}" font-size="${fs}">${text}</text>`;
  }
  return `${out}</g>`;
}

// (explorer.css centres every SVG text with a CSS rule, which beats a text-anchor attribute:
// the anchor is a class here, ts-end or cx-label for "start".)
function textMarkup(x, y, text, cls = "ts-idx") {
  return `<text x="${x}" y="${y}" class="${cls}">${text}</text>`;
}

function rectMarkup(x, y, width, height, cls) {
  return `<rect x="${x}" y="${y}" width="${width}" height="${height}" class="${cls}"></rect>`;
}

// A grid of cells at (x0, y0), row and column indices outside (labels(r), labels(c)).
function gridMarkup(svg, rows, cols, size, x0, y0, { cls, text, labels = (i) => i, attrs }) {
  let out = "";
  if (labels) {
    for (let r = 0; r < rows; r++)
      out += textMarkup(x0 - 4, y0 + r * size + size / 2, labels(r), "ts-idx ts-end");
    for (let c = 0; c < cols; c++) out += textMarkup(x0 + c * size + size / 2, y0 - 6, labels(c));
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = text(r, c);
      const extra = attrs ? attrs(r, c) : "";
      out += cellMarkup(
        x0 + c * size,
        y0 + r * size,
        size,
        cls(r, c),
        t === null ? null : minus(t),
        svg.hatch,
        extra,
      );
    }
  }
  return out;
}

const LEFT = 22; // room for the row indices
const TOP = 34; // the title and the column indices

// The canvas figure keeps its SVG and a pool of cells (a rect and a text at a fixed place per
// canvas position) for the explorer's life (ui.canvas): an update only changes the classes and
// numbers that differ, and redraws the overlay (the selected stamp's taps) and the frames.
// Building hundreds of SVG nodes afresh on every move costs more than the 16 ms budget.
function canvasPool(ui) {
  if (!ui.canvas) {
    const svg = newSvg(100, 100, "canvas");
    const title = label(svg, 1, 9, "");
    ui.canvas = {
      svg,
      title,
      index: s("g", {}, svg),
      cells: s("g", { class: "ts-cells" }, svg),
      overlay: s("g", { class: "cx-cell cx-current ts-overlay" }, svg),
      values: s("g", { class: "cx-cell ts-values" }, svg),
      frames: s("g", { class: "ts-frames" }, svg),
      grid: [], // grid[R][C] = { rect, text, cls, t }
      rowIdx: [],
      colIdx: [],
    };
  }
  return ui.canvas;
}

function poolCell(pool, R, C) {
  while (pool.grid.length <= R) pool.grid.push([]);
  const row = pool.grid[R];
  while (row.length <= C) {
    const c = row.length;
    const x = LEFT + c * CELL;
    const y = TOP + R * CELL;
    const rect = s("rect", { x, y, width: CELL, height: CELL, class: "ts-off" }, pool.cells);
    const text = s("text", { x: x + CELL / 2, y: y + CELL / 2, class: "ts-off" }, pool.values);
    row.push({ rect, text, cls: "ts-off", t: null, fs: null });
  }
  return row[C];
}

function poolIndex(pool, list, k, attrs) {
  while (list.length <= k) {
    const n = list.length;
    list.push({ node: s("text", { ...attrs(n), class: "ts-idx ts-off" }, pool.index), t: null });
  }
  return list[k];
}

function setClass(node, item, cls) {
  if (item.cls !== cls) {
    node.setAttribute("class", cls);
    item.cls = cls;
  }
}

function canvasFigure(ui, p, lay, [r, c], valid) {
  const { CH, CW, OH, OW } = lay;
  const P = p.P;
  const pool = canvasPool(ui);
  const { svg } = pool;
  let title = `canvas ${CH}×${CW}: output ${OH}×${OW}, P = ${P} cropped`;
  if (!valid && (OH < 1 || OW < 1)) title = `canvas ${CH}×${CW}: P = ${P} crops it all`;
  else if (!valid) title = `canvas ${CH}×${CW} (not a valid layer)`;
  const width = Math.max(LEFT + CW * CELL + 28, title.length * 6.6);
  const height = TOP + CH * CELL + 18;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.width = `${width}px`;
  svg.setAttribute(
    "aria-label",
    `canvas ${CH} by ${CW}, output ${Math.max(OH, 0)} by ${Math.max(OW, 0)}`,
  );
  pool.title.textContent = title;
  const inside = (R, C) => R >= P && R < P + OH && C >= P && C < P + OW;
  // Indices are output indices: negative or >= OH means cropped by P.
  const rowsShown = Math.max(CH, pool.rowIdx.length);
  for (let R = 0; R < rowsShown; R++) {
    const item = poolIndex(pool, pool.rowIdx, R, (n) => ({
      x: LEFT - 4,
      y: TOP + n * CELL + CELL / 2,
    }));
    setClass(item.node, item, R < CH ? "ts-idx ts-end" : "ts-idx ts-end ts-off");
    const t = minus(R - P);
    if (item.t !== t) item.node.textContent = item.t = t;
  }
  const colsShown = Math.max(CW, pool.colIdx.length);
  for (let C = 0; C < colsShown; C++) {
    const item = poolIndex(pool, pool.colIdx, C, (n) => ({
      x: LEFT + n * CELL + CELL / 2,
      y: TOP - 6,
    }));
    setClass(item.node, item, C < CW ? "ts-idx" : "ts-idx ts-off");
    const t = minus(C - P);
    if (item.t !== t) item.node.textContent = item.t = t;
  }
  const rows = Math.max(CH, pool.grid.length);
  for (let R = 0; R < rows; R++) {
    const cols = Math.max(CW, pool.grid[R] ? pool.grid[R].length : 0);
    for (let C = 0; C < cols; C++) {
      const item = poolCell(pool, R, C);
      if (R >= CH || C >= CW) {
        if (item.cls !== "ts-off") {
          item.rect.setAttribute("class", "ts-off");
          item.text.setAttribute("class", "ts-off");
          item.cls = "ts-off";
        }
        continue;
      }
      const inner = inside(R, C);
      const cls = inner ? (lay.hits[R][C] ? "ts-out" : "ts-empty") : "ts-crop";
      if (item.cls !== cls) {
        item.rect.setAttribute("class", cls);
        item.rect.style.fill = inner ? "" : svg.hatch;
        item.text.setAttribute("class", inner ? "" : "ts-crop");
        item.cls = cls;
      }
      const t = minus(lay.sum[R][C]);
      if (item.t !== t) {
        item.text.textContent = item.t = t;
        const fs = t.length >= 4 ? CELL * 0.34 : Math.min(CELL * 0.42, 13);
        if (item.fs !== fs) item.text.setAttribute("font-size", (item.fs = fs));
      }
    }
  }
  // The selected stamp: its taps (hatched where P crops them) and its frame.
  let taps = "";
  for (let i = 0; i < p.KH; i++) {
    for (let j = 0; j < p.KW; j++) {
      const R = r * p.S + i * p.D;
      const C = c * p.S + j * p.D;
      const fill = inside(R, C) ? "" : ` style="fill: ${svg.hatch}"`;
      taps += `<rect x="${LEFT + C * CELL}" y="${TOP + R * CELL}" width="${CELL}" height="${CELL}"${fill}></rect>`;
    }
  }
  pool.overlay.innerHTML = taps;
  let g = "";
  if (OH > 0 && OW > 0) {
    g += rectMarkup(LEFT + P * CELL, TOP + P * CELL, OW * CELL, OH * CELL, "ts-out-frame");
  }
  if (p.OP > 0 && OH > 0 && OW > 0) {
    const k = Math.min(p.OP, OH);
    const kc = Math.min(p.OP, OW);
    const y = TOP + (P + OH - k) * CELL;
    const xx = LEFT + (P + OW - kc) * CELL;
    g += rectMarkup(LEFT + P * CELL, y, OW * CELL, k * CELL, "cx-frame-accent");
    g += rectMarkup(xx, TOP + P * CELL, kc * CELL, OH * CELL, "cx-frame-accent");
    g += textMarkup(LEFT + CW * CELL + 3, y + (k * CELL) / 2, "+OP", "cx-label");
    g += textMarkup(xx + (kc * CELL) / 2 - 10, TOP + CH * CELL + 10, "+OP", "cx-label");
  }
  const spanH = p.D * (p.KH - 1) + 1;
  const spanW = p.D * (p.KW - 1) + 1;
  g += rectMarkup(
    LEFT + c * p.S * CELL,
    TOP + r * p.S * CELL,
    spanW * CELL,
    spanH * CELL,
    "cx-frame",
  );
  pool.frames.innerHTML = g;
  return svg;
}

// The figure `name` as last built, if it showed the same `key` (numbers) of the same array
// `data` (the model's list: a new one from Python rebuilds); otherwise build() it again.
function cachedFigure(ui, name, key, data, build) {
  ui.figures = ui.figures || {};
  const k = key.join(",");
  const old = ui.figures[name];
  if (old && old.key === k && old.data === data) return old.svg;
  const svg = build();
  ui.figures[name] = { key: k, data, svg };
  return svg;
}

const spec = {
  name: "transposed",
  title: "Transposed convolution: one stamp of the kernel per input value",
  params: [
    { name: "H", label: "H", min: 1, max: 5, help: "input height (of the transposed convolution)" },
    { name: "W", label: "W", min: 1, max: 5, help: "input width" },
    { name: "KH", label: "KH", min: 1, max: 4, help: "kernel height" },
    { name: "KW", label: "KW", min: 1, max: 4, help: "kernel width" },
    { name: "S", label: "S", min: 1, max: 3, help: "stride: stamps start S apart" },
    {
      name: "P",
      label: "P",
      min: 0,
      max: 2,
      help: "padding: rows and columns cropped from every side",
    },
    { name: "D", label: "D", min: 1, max: 2, help: "dilation: kernel taps D apart" },
    {
      name: "OP",
      label: "OP",
      min: 0,
      max: 2,
      help: "output padding: rows and columns kept at the bottom and right",
    },
    {
      name: "row",
      label: "row",
      min: 0,
      max: 4,
      help: "row of the input cell whose stamp is outlined",
    },
    {
      name: "col",
      label: "col",
      min: 0,
      max: 4,
      help: "column of the input cell whose stamp is outlined",
    },
  ],
  invalidState: { cell: null, stamp: null, out: null, sizes: null, sizes_w: null },

  compute(p, model) {
    const OH = transposedOutputSize(p.H, p.KH, p.S, p.P, p.D, p.OP);
    const OW = transposedOutputSize(p.W, p.KW, p.S, p.P, p.D, p.OP);
    const x = model.get("x");
    const w = model.get("w");
    checkFits(p, x, w);
    const { sum } = stampCanvas(p, x, w);
    const out = range(OH).map((r) => sum[r + p.P].slice(p.P, p.P + OW));
    const [r, c] = selected(p, x);
    const stamp = stampCells(p, r, c, OH, OW);
    const taps = p.KH * p.KW;
    const summary =
      `output ${OH} × ${OW}; the stamp of x[${r}, ${c}] = ${minus(x[r][c])} writes ` +
      `${stamp.length} of its ${taps} tap${taps === 1 ? "" : "s"} inside it` +
      (stamp.length < taps ? `, ${taps - stamp.length} fall in the cropped border` : "");
    return {
      OH,
      OW,
      cell: [r, c],
      stamp,
      out,
      sizes: convSizes(p.H, p.KH, p.S, p.P, p.D),
      sizes_w: convSizes(p.W, p.KW, p.S, p.P, p.D),
      summary,
    };
  },

  extraControls(ui) {
    const { model } = ui;
    const bar = h("div", { class: "cx-buttons" });
    const step = (delta) => () => {
      const x = model.get("x");
      const H = Math.max(1, Math.min(model.get("H") | 0, x.length));
      const W = Math.max(1, Math.min(model.get("W") | 0, x[0].length));
      const [r, c] = selected({ H, W, row: model.get("row"), col: model.get("col") }, x);
      const k = (((r * W + c + delta) % (H * W)) + H * W) % (H * W);
      model.set("row", Math.floor(k / W));
      model.set("col", k % W);
      model.save_changes();
    };
    const prev = h("button", { type: "button", title: "Previous input cell", text: "◀ prev cell" });
    const next = h("button", { type: "button", title: "Next input cell", text: "next cell ▶" });
    prev.addEventListener("click", step(-1));
    next.addEventListener("click", step(1));
    bar.append(prev, next, h("span", { class: "ts-hint", text: "or click a cell of x" }));
    ui.controls.append(bar);
  },

  draw(view, p, result, ui) {
    const { model } = ui;
    const x = model.get("x");
    const w = model.get("w");
    const [r, c] = selected(p, x);
    const Hd = Math.max(1, Math.min(p.H | 0, x.length));
    const Wd = Math.max(1, Math.min(p.W | 0, x[0].length));
    // The selection controls reach the current input only; their labels show the cell used.
    ui.inputs.row.input.max = Hd - 1;
    ui.inputs.col.input.max = Wd - 1;
    ui.inputs.row.shown.textContent = String(r);
    ui.inputs.col.shown.textContent = String(c);

    const ok = drawable(p, x, w);
    const text = h("div", { class: "cx-formula" });
    const figs = h("div", { class: "cx-figs" });
    view.append(text, figs);
    if (ok) {
      text.append(
        h("div", { text: sizeFormula(p.H, p.KH, p, ["H", "KH"]) }),
        h("div", { text: sizeFormula(p.W, p.KW, p, ["W", "KW"]) }),
      );
    }

    // x, with the selected cell outlined; a click selects a cell. Each small figure is kept
    // while what it shows is unchanged (see cachedFigure).
    const xs = cachedFigure(ui, "x", [Hd, Wd], x, () => {
      const svg = newSvg(Wd * SMALL + 20, Hd * SMALL + 36, `input x, ${Hd} by ${Wd}`);
      label(svg, 1, 9, `x (${Hd}×${Wd})`);
      svg.insertAdjacentHTML(
        "beforeend",
        gridMarkup(svg, Hd, Wd, SMALL, 18, 34, {
          cls: () => "cx-input ts-pick",
          text: (a, b) => x[a][b],
          attrs: (a, b) => ` data-row="${a}" data-col="${b}"`,
        }),
      );
      svg.addEventListener("click", (event) => {
        const picked = event.target.closest("[data-row]");
        if (!picked) return;
        model.set("row", Number(picked.dataset.row));
        model.set("col", Number(picked.dataset.col));
        model.save_changes();
      });
      return svg;
    });
    const picked = xs.querySelector(".cx-current");
    const want = xs.querySelector(`[data-row="${r}"][data-col="${c}"]`);
    if (picked !== want) {
      if (picked) picked.setAttribute("class", "cx-cell cx-input ts-pick");
      want.setAttribute("class", "cx-cell cx-input cx-current ts-pick");
    }
    figs.append(xs);
    if (!ok) return;

    // w, and the stamp of the selected cell: x[r, c]·w with the taps D apart.
    const ws = cachedFigure(ui, "w", [p.KH, p.KW], w, () => {
      const svg = newSvg(p.KW * SMALL + 20, p.KH * SMALL + 36, `kernel w, ${p.KH} by ${p.KW}`);
      label(svg, 1, 9, `w (${p.KH}×${p.KW})`);
      svg.insertAdjacentHTML(
        "beforeend",
        gridMarkup(svg, p.KH, p.KW, SMALL, 18, 34, {
          cls: () => "cx-input",
          text: (i, j) => w[i][j],
        }),
      );
      return svg;
    });
    figs.append(ws);
    const v = x[r][c];
    const spanH = p.D * (p.KH - 1) + 1;
    const spanW = p.D * (p.KW - 1) + 1;
    const ss = cachedFigure(ui, "stamp", [p.KH, p.KW, p.D, v], w, () => {
      const title = `${minus(v)}·w, taps D = ${p.D} apart`;
      const svg = newSvg(
        Math.max(spanW * SMALL + 4, title.length * 6.6),
        spanH * SMALL + 22,
        "stamp",
      );
      label(svg, 1, 9, title);
      svg.insertAdjacentHTML(
        "beforeend",
        gridMarkup(svg, spanH, spanW, SMALL, 2, 20, {
          labels: null,
          cls: (a, b) => (a % p.D || b % p.D ? "cx-empty" : "cx-current"),
          text: (a, b) => (a % p.D || b % p.D ? null : v * w[a / p.D][b / p.D]),
        }),
      );
      return svg;
    });
    ss.setAttribute("aria-label", `stamp of x[${r}, ${c}] = ${v}: ${v} times w`);
    figs.append(ss);

    const CH = (p.H - 1) * p.S + p.D * (p.KH - 1) + 1 + p.OP;
    const CW = (p.W - 1) * p.S + p.D * (p.KW - 1) + 1 + p.OP;
    const lay = CH * CW > MAX_CANVAS ? null : stampCanvas(p, x, w);
    const P = p.P;
    const stamp = result ? result.stamp : [];

    // The stamp, and the full sum at the output cell it shares with the most other stamps.
    const R0 = r * p.S - P;
    const C0 = c * p.S - P;
    const at = (base, step, letter) => {
      const term = step === 1 ? letter : `${step}${letter}`;
      return base === 0 ? term : `${minus(base)} + ${term}`;
    };
    text.append(
      h("div", {
        text:
          `x[${r}, ${c}] = ${minus(v)} adds ${minus(v)}·w[i, j] to out[S·${r} − P + D·i, S·${c} − P + D·j] = ` +
          `out[${at(R0, p.D, "i")}, ${at(C0, p.D, "j")}]`,
      }),
    );
    if (result && stamp.length && lay) {
      let best = stamp[0];
      let most = -1;
      for (const [a, b] of stamp) {
        const n = lay.hits[a + P][b + P];
        if (n > most) [best, most] = [[a, b], n];
      }
      const [a, b] = best;
      const rowsW = writers(a + P, p.H, p.KH, p.S, p.D);
      const colsW = writers(b + P, p.W, p.KW, p.S, p.D);
      const names = [];
      const nums = [];
      for (const [ra, i] of rowsW) {
        for (const [cb, j] of colsW) {
          names.push(`x[${ra}, ${cb}]·w[${i}, ${j}]`);
          nums.push(`${paren(x[ra][cb])}·${w[i][j]}`);
        }
      }
      const sum = minus(result.out[a][b]);
      const eq = names.length > 1 ? ` = ${nums.join(" + ")}` : "";
      text.append(h("div", { text: `out[${a}, ${b}] = ${names.join(" + ")}${eq} = ${sum}` }));
    } else if (result) {
      text.append(h("div", { text: "Every tap of this stamp falls in the cropped border." }));
    }
    text.append(h("div", { class: "ts-ambiguity", text: ambiguity(p.H, p.KH, p, ["H", "KH"]) }));
    if (p.W !== p.H || p.KW !== p.KH) {
      text.append(h("div", { class: "ts-ambiguity", text: ambiguity(p.W, p.KW, p, ["W", "KW"]) }));
    }

    if (!lay) {
      figs.append(h("div", { text: `(the ${CH}×${CW} canvas is too large to draw here)` }));
      return;
    }
    figs.append(canvasFigure(ui, p, lay, [r, c], Boolean(result)));

    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML =
      '<span><i class="cx-swatch" style="background:var(--cx-output-fill)"></i>output (the sum of all stamps)</span>' +
      '<span><i class="cx-swatch ts-swatch-hatch"></i>hatched: cropped by P</span>' +
      `<span><i class="cx-swatch" style="background:var(--cx-current-fill);border:2px solid var(--cx-current)"></i>taps of the stamp of x[${r}, ${c}] (framed)</span>` +
      '<span><i class="cx-swatch" style="border-style:dashed"></i>dashed: no stamp reaches</span>' +
      (p.OP > 0
        ? '<span style="color:var(--cx-accent)">- - +OP: rows and columns kept by OP</span>'
        : "");
    view.append(legend);
  },
};

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
