// multichannel.js: chapter 4's explorer. An input x of C channels, K filters w[k] of C kernels
// each, and one output cell out[k, row, col] written out: the window of that cell on every
// channel, each channel's products and their sum, then the sum over ALL channels plus b[k].
// The K output maps below (one per filter) show that the output has K channels.
//
// x (C, H, W), w (K, C, KH, KW) and b (K,) come from Python at their largest shapes; this
// module slices what the current parameters need and computes every number itself.

const CELL = 22;
const GAP = 16; // between the grids of one channel

// Display text of a number: the minus sign is U+2212; in a product a negative is bracketed.
function num(v) {
  const t = fmt(v);
  return v < 0 ? `−${t.slice(1)}` : t;
}
function factor(v) {
  return v < 0 ? `(${num(v)})` : num(v);
}

// The largest C, K, H, W, KH, KW that the arrays hold (same as limits() in multichannel.py).
function limits(x, w, b) {
  return {
    C: Math.min(x.length, w[0].length),
    K: Math.min(w.length, b.length),
    H: x[0].length,
    W: x[0][0].length,
    KH: w[0][0].length,
    KW: w[0][0][0].length,
  };
}

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

// Padded input value: zero outside the H x W picture.
function padded(x, c, r, q, p) {
  const i = r - p.P;
  const j = q - p.P;
  return i >= 0 && i < p.H && j >= 0 && j < p.W ? x[c][i][j] : 0;
}

// Sum over the window of output cell (r, q) on channel c of filter f, no bias.
function channelSum(x, w, f, c, r, q, p) {
  let total = 0;
  for (let i = 0; i < p.KH; i++) {
    for (let j = 0; j < p.KW; j++) total += w[f][c][i][j] * padded(x, c, p.S * r + i, p.S * q + j, p);
  }
  return total;
}

// O = (n + 2P − k)/S + 1 with the numbers in, or why it is not an output size.
function sizeFormula(size, kernel, p, [n, k]) {
  const room = size + 2 * p.P - kernel;
  let value;
  if (room < 0) value = `${pyG(room / p.S + 1)}: the window does not fit`;
  else value = room % p.S ? `${pyG(room / p.S + 1)}, not an integer` : String(room / p.S + 1);
  return `O${n} = (${n} + 2P − ${k})/S + 1 = (${size} + 2·${p.P} − ${kernel})/${p.S} + 1 = ${value}`;
}

const spec = {
  name: "multichannel",
  title: "Several channels in, several filters out: one output cell, summed over every channel",
  params: [
    ...layerParams({ C: [1, 3], K: [1, 3], H: [2, 6], W: [2, 6], KH: [1, 3], KW: [1, 3], S: [1, 2], P: [0, 1] }),
    { name: "k", label: "k", min: 0, max: 1, help: "which filter (output channel) is written out" },
    { name: "row", label: "row", min: 0, max: 3, help: "output row of the written-out cell" },
    { name: "col", label: "col", min: 0, max: 3, help: "output column of the written-out cell" },
  ],
  invalidState: { cell: null, terms: null, bias: null, value: null, out: null },

  compute(p, model, ui) {
    const x = model.get("x");
    const w = model.get("w");
    const b = model.get("b");
    const lim = limits(x, w, b);
    for (const [name, limit] of Object.entries(lim)) ui.inputs[name].input.max = limit;
    // The same checks in the same order as Multichannel.compute (conv_output_shape first).
    checkInt("C", p.C, 1);
    const [OH, OW] = convOutputShape(p.H, p.W, p.KH, p.KW, p.S, p.P);
    checkInt("K", p.K, 1);
    for (const [name, limit] of Object.entries(lim)) {
      if (p[name] > limit) {
        throw new GeometryError(
          `${name} must be <= ${limit}: the explorer's arrays hold no more, got ${p[name]}`,
        );
      }
    }
    ui.inputs.k.input.max = p.K - 1;
    ui.inputs.row.input.max = OH - 1;
    ui.inputs.col.input.max = OW - 1;
    const cell = [clamp(p.k, 0, p.K - 1), clamp(p.row, 0, OH - 1), clamp(p.col, 0, OW - 1)];
    const out = range(p.K).map((f) =>
      range(OH).map((r) =>
        range(OW).map((q) => {
          let total = b[f];
          for (let c = 0; c < p.C; c++) total += channelSum(x, w, f, c, r, q, p);
          return total;
        }),
      ),
    );
    const [f, r, q] = cell;
    const terms = range(p.C).map((c) => channelSum(x, w, f, c, r, q, p));
    const summary =
      `out is K × OH × OW = ${p.K} × ${OH} × ${OW}: one ${OH} × ${OW} map per filter; ` +
      `out[${f}, ${r}, ${q}] sums filter ${f} over all C = ${p.C} input channel${p.C === 1 ? "" : "s"}`;
    return { OH, OW, cell, terms, bias: b[f], value: out[f][r][q], out, summary };
  },

  extraControls(ui) {
    const { model } = ui;
    for (const name of ["x", "w", "b"]) model.on(`change:${name}`, () => ui.update());
    const bar = h("div", { class: "cx-buttons" });
    // Step through the output cells row-major, filter by filter (k, then row, then col).
    const go = (delta) => () => {
      if (!JSON.parse(ui.root.dataset.state || "{}").valid) return; // no cells to step through
      const K = Number(ui.inputs.k.input.max) + 1;
      const OH = Number(ui.inputs.row.input.max) + 1;
      const OW = Number(ui.inputs.col.input.max) + 1;
      const at = (clamp(model.get("k"), 0, K - 1) * OH + clamp(model.get("row"), 0, OH - 1)) * OW;
      const n = clamp(at + clamp(model.get("col"), 0, OW - 1) + delta, 0, K * OH * OW - 1);
      model.set("k", Math.floor(n / (OH * OW)));
      model.set("row", Math.floor(n / OW) % OH);
      model.set("col", n % OW);
      model.save_changes();
    };
    const prev = h("button", { type: "button", title: "Previous output cell", text: "◀ prev" });
    const next = h("button", { type: "button", title: "Next output cell", text: "next ▶" });
    prev.addEventListener("click", go(-1));
    next.addEventListener("click", go(1));
    bar.append(prev, next, h("span", { class: "cx-hint", text: "or click a cell of out" }));
    ui.controls.append(bar);
  },

  draw(view, p, result, ui) {
    const x = ui.model.get("x");
    const w = ui.model.get("w");
    const b = ui.model.get("b");
    const lim = limits(x, w, b);
    const ok = (name) => Number.isInteger(p[name]) && p[name] >= 1 && p[name] <= lim[name];
    if (["KH", "KW", "S"].every((n) => Number.isInteger(p[n]) && p[n] >= 1)) {
      view.append(
        h(
          "div",
          { class: "cx-formula" },
          h("div", { text: sizeFormula(p.H, p.KH, p, ["H", "KH"]) }),
          h("div", { text: sizeFormula(p.W, p.KW, p, ["W", "KW"]) }),
        ),
      );
    }
    if (!["C", "H", "W"].every(ok) || !(Number.isInteger(p.P) && p.P >= 0 && p.P <= 6)) return;
    const pic = pictures(p, result, ui, x);

    if (!result) {
      view.append(h("div", { class: "cx-figs" }, ...pic.cards.map((card) => card.box)));
      return;
    }
    const [f, r, q] = result.cell;
    const { OH, OW } = result;
    const top = p.S * r;
    const left = p.S * q;
    view.append(
      h("div", {
        class: "cx-caption",
        text:
          `Filter k = ${f} is w[${f}], C × KH × KW = ${p.C} × ${p.KH} × ${p.KW}: one kernel ` +
          `per input channel. Output cell (${r}, ${q}) reads rows ${top}…${top + p.KH - 1}, ` +
          `columns ${left}…${left + p.KW - 1} of every ${p.P ? "padded " : ""}channel.`,
      }),
    );

    // Each card: x[c] with the window, ⊙ w[k, c], = the products (only these parts change
    // when the selection moves; the grid of x[c] is kept).
    pic.cards.forEach((card, c) => {
      const dyn = card.dyn;
      dyn.replaceChildren();
      grid(dyn, p.KH, p.KW, left * CELL, top * CELL, card.hatch, (i, j) => {
        const pad = isPad(p, top + i, left + j);
        return [pad ? "cx-pad cx-current" : "cx-input cx-current", num(padded(x, c, top + i, left + j, p))];
      });
      rectOf(dyn, left * CELL, top * CELL, p.KW * CELL, p.KH * CELL, "cx-frame");
      card.wLabel.textContent = `w[${f}, ${c}]`;
      grid(dyn, p.KH, p.KW, card.xk, card.y0, null, (i, j) => ["cx-accent", num(w[f][c][i][j])]);
      rectOf(dyn, card.xk, card.y0, p.KW * CELL, p.KH * CELL, "cx-frame-accent");
      grid(dyn, p.KH, p.KW, card.xp, card.y0, null, (i, j) => [
        "cx-input",
        num(w[f][c][i][j] * padded(x, c, top + i, left + j, p)),
      ]);
    });
    view.append(h("div", { class: "cx-figs" }, ...pic.cards.map((card) => card.box)));

    // The sums written out: one line per channel, then the total with the bias.
    const sums = h("div", { class: "cx-formula cx-sums" });
    for (let c = 0; c < p.C; c++) {
      const parts = [];
      for (let i = 0; i < p.KH; i++) {
        for (let j = 0; j < p.KW; j++) {
          parts.push(`${factor(padded(x, c, top + i, left + j, p))}·${factor(w[f][c][i][j])}`);
        }
      }
      sums.append(h("div", { text: `channel ${c}: ${parts.join(" + ")} = ${num(result.terms[c])}` }));
    }
    const chans = range(p.C).map((c) => `channel ${c}`).join(" + ");
    sums.append(
      h("div", { class: "cx-total", text: `out[${f}, ${r}, ${q}] = ${chans} + b[${f}]` }),
      h("div", {
        class: "cx-total",
        text:
          `out[${f}, ${r}, ${q}] = ${result.terms.map(factor).join(" + ")} + b[${f}] ` +
          `(= ${num(result.bias)}) = ${num(result.value)}`,
      }),
    );
    view.append(sums);

    // The K output maps, one per filter: the written-out cell outlined, every cell clickable.
    view.append(
      h("div", {
        class: "cx-caption",
        text:
          `Output: K = ${p.K} channel${p.K === 1 ? "" : "s"}, one ${OH} × ${OW} map per filter; ` +
          `every cell of out[k] sums over all C = ${p.C} input channels.`,
      }),
    );
    pic.maps.forEach((map, k) => {
      map.dyn.replaceChildren();
      map.label.textContent = `out[${k}]: filter ${k}, b = ${num(b[k])}${k === f ? " ◀" : ""}`;
      if (k !== f) return;
      const g = s("g", { class: "cx-cell cx-output cx-current cx-sel", "font-size": 10.5 }, map.dyn);
      s("rect", { x: q * CELL, y: r * CELL, width: CELL, height: CELL }, g);
      s("text", { x: (q + 0.5) * CELL, y: (r + 0.5) * CELL, text: num(result.value) }, g);
      rectOf(map.dyn, q * CELL, r * CELL, CELL, CELL, "cx-frame");
    });
    view.append(h("div", { class: "cx-figs" }, ...pic.maps.map((map) => map.svg)));
    view.append(LEGEND.cloneNode(true));
  },
};

const LEGEND = h("div", { class: "cx-legend" });
LEGEND.innerHTML =
  '<span><i class="cx-swatch" style="background:var(--cx-pad)"></i>padding (0)</span>' +
  '<span><i class="cx-swatch" style="background:var(--cx-current-fill);border:2px solid var(--cx-current)"></i>window of out[k, row, col], outlined on every channel</span>' +
  '<span><i class="cx-swatch" style="background:var(--cx-accent-fill);border:2px dashed var(--cx-accent)"></i>kernels of filter k</span>' +
  "<span>◀ the map of filter k</span>";

function isPad(p, r, q) {
  return r < p.P || q < p.P || r >= p.P + p.H || q >= p.P + p.W;
}

function rectOf(parent, x, y, width, height, cls) {
  return s("rect", { x, y, width, height, class: cls }, parent);
}

// A rows x cols grid of cells at (x0, y0): what(i, j) -> [classes, text or null]. Cells of one
// class share one <g class="cx-cell ...">, fewer nodes than common.js's cell(). Padding cells
// get the SVG's hatch. The window, kernel and products, redrawn on every move, use it.
function grid(parent, rows, cols, x0, y0, hatch, what) {
  const groups = new Map();
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const [cls, text] = what(i, j);
      let g = groups.get(cls);
      if (!g) {
        g = s("g", { class: `cx-cell ${cls}`, "font-size": 9.5 }, parent);
        groups.set(cls, g);
      }
      const x = x0 + j * CELL;
      const y = y0 + i * CELL;
      const r = s("rect", { x, y, width: CELL, height: CELL }, g);
      if (hatch && cls.includes("cx-pad")) r.style.fill = hatch;
      if (text !== null) s("text", { x: x + CELL / 2, y: y + CELL / 2, text }, g);
    }
  }
}

// A static rows x cols grid of one class in a handful of nodes: one rect, one path for the
// grid lines and one <text> per cell (text(i, j), or none). The grids that stay put use it.
function sheet(parent, rows, cols, x0, y0, cls, text, hatch = null) {
  const g = s("g", { class: `cx-cell ${cls}`, "font-size": 9.5 }, parent);
  const r = s("rect", { x: x0, y: y0, width: cols * CELL, height: rows * CELL }, g);
  if (hatch) r.style.fill = hatch;
  let d = "";
  for (let i = 1; i < rows; i++) d += `M${x0},${y0 + i * CELL}h${cols * CELL}`;
  for (let j = 1; j < cols; j++) d += `M${x0 + j * CELL},${y0}v${rows * CELL}`;
  if (d) s("path", { d, class: "cx-gridlines" }, g);
  if (!text) return g;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      s("text", { x: x0 + (j + 0.5) * CELL, y: y0 + (i + 0.5) * CELL, text: text(i, j) }, g);
    }
  }
  return g;
}

// The parts that do not change when only the selection (k, row, col) moves, kept between
// updates: each channel's card (x[c] padded, the places of the kernel and products) and each
// output map (its values, clickable). Rebuilt when the geometry or the arrays change.
function pictures(p, result, ui, x) {
  const key = JSON.stringify([GEOMETRY.map((n) => p[n]), result && result.out, x]);
  if (ui.mcCache && ui.mcCache.key === key) return ui.mcCache;
  const hp = p.H + 2 * p.P;
  const wp = p.W + 2 * p.P;
  const kh = result ? p.KH : 0;
  const kw = result ? p.KW : 0;
  const cards = range(p.C).map((c) => {
    const xk = wp * CELL + 2 * GAP;
    const xp = xk + kw * CELL + 2 * GAP;
    const y0 = Math.max(0, ((hp - kh) * CELL) / 2);
    const width = (result ? xp + kw * CELL : wp * CELL) + 4;
    const svg = newSvg(width, Math.max(hp, kh) * CELL + 24, `input channel ${c}`);
    label(svg, 1, 9, `x[${c}]${p.P ? " padded" : ""}`);
    const g = s("g", { transform: "translate(1, 20)" }, svg);
    if (p.P) sheet(g, hp, wp, 0, 0, "cx-pad", null, svg.hatch);
    sheet(g, p.H, p.W, p.P * CELL, p.P * CELL, "cx-input", (r, q) => num(x[c][r][q]));
    const card = { box: h("div", { class: "cx-card" }, svg), hatch: svg.hatch, xk, xp, y0 };
    if (result) {
      s("text", { x: xk - GAP, y: y0 + (kh * CELL) / 2, text: "⊙", class: "cx-op" }, g);
      s("text", { x: xp - GAP, y: y0 + (kh * CELL) / 2, text: "=", class: "cx-op" }, g);
      card.wLabel = label(svg, xk + 1, 9, "");
      label(svg, xp + 1, 9, "products");
      card.dyn = s("g", {}, g);
    }
    return card;
  });
  const maps = result
    ? range(p.K).map((k) => {
        const { OH, OW } = result;
        const width = Math.max(OW * CELL + 4, 176); // room for the label
        const svg = newSvg(width, OH * CELL + 24, `output channel ${k}, ${OH} by ${OW}`);
        const map = { svg, label: label(svg, 1, 9, "") };
        const g = s("g", { transform: "translate(1, 20)" }, svg);
        const cells = s("g", { class: "cx-pick" }, g);
        sheet(cells, OH, OW, 0, 0, "cx-output", (a, c) => num(result.out[k][a][c]));
        cells.addEventListener("click", (e) => {
          // the clicked cell, from the pointer in the SVG's own units
          const m = cells.getScreenCTM();
          if (!m) return;
          const at = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
          const a = clamp(Math.floor(at.y / CELL), 0, OH - 1);
          const c = clamp(Math.floor(at.x / CELL), 0, OW - 1);
          ui.model.set("k", k);
          ui.model.set("row", a);
          ui.model.set("col", c);
          ui.model.save_changes();
        });
        map.dyn = s("g", {}, g);
        return map;
      })
    : [];
  ui.mcCache = { key, cards, maps };
  return ui.mcCache;
}

const GEOMETRY = ["C", "K", "H", "W", "KH", "KW", "S", "P"];

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
