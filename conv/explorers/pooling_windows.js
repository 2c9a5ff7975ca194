// pooling_windows.js: the pooling explorer. A KH x KW window slides with stride S over one
// H x W channel padded by P. Max pooling pads with −∞ and keeps the window's first maximum
// (row-major inside the window); its backward pass sends all of dout[oh, ow] to that argmax.
// Average pooling pads with 0 and divides by KH·KW (padding included); its backward pass gives
// dout[oh, ow]/(KH·KW) to every cell of the window, the padding cells dropping theirs.
// Messages are ports of conv.geometry.check_pool_args, word for word.

const POOL_CELL = 26;
const POOL_FONT = Math.min(POOL_CELL * 0.42, 13); // as common.js's cell()

// One cell as markup (a grid of a hundred cells is parsed in one go, faster than node by node).
function poolCell(x, y, cls, text, attrs = "", style = "") {
  const fill = style ? ` style="${style}"` : "";
  const t =
    text === null || text === undefined
      ? ""
      : `<text x="${x + POOL_CELL / 2}" y="${y + POOL_CELL / 2}" font-size="${POOL_FONT}">${text}</text>`;
  const rect = `<rect x="${x}" y="${y}" width="${POOL_CELL}" height="${POOL_CELL}"${fill}/>`;
  return `<g class="cx-cell ${cls}" ${attrs}>${rect}${t}</g>`;
}

// An SVG with a title line and a group for rows x cols cells (wide enough for the title).
function poolGrid(title, rows, cols) {
  const svg = newSvg(Math.max(cols * POOL_CELL + 2, title.length * 6.6), rows * POOL_CELL + 22, title);
  label(svg, 1, 9, title);
  const g = s("g", { transform: "translate(1, 20)" }, svg);
  return [svg, g];
}

function poolNum(v) {
  if (v === -Infinity) return "−∞";
  return v < 0 ? `−${fmt(-v)}` : fmt(v);
}

// conv.geometry.check_pool_args for kernel_size=(KH, KW), stride=S: [OH, OW] or the reason.
function poolOutputShape(H, W, KH, KW, S, P, floor) {
  checkInt("kernel_size[0]", KH, 1);
  checkInt("kernel_size[1]", KW, 1);
  checkInt("stride", S, 1);
  checkInt("padding", P, 0);
  if (P > Math.floor(KH / 2) || P > Math.floor(KW / 2)) {
    throw new GeometryError(
      `padding must be at most half the ${KH}x${KW} window (P <= ${Math.floor(Math.min(KH, KW) / 2)}), ` +
        `got ${P}: a window could then hold only padding`,
    );
  }
  const sizes = [];
  for (const [axis, size, k] of [["height", H, KH], ["width", W, KW]]) {
    try {
      sizes.push(outputSize(size, k, S, P, 1, floor));
    } catch (e) {
      throw new GeometryError(`${axis} (size ${size}, window ${k}, stride ${S}): ${e.message}`);
    }
  }
  return sizes;
}

function poolClamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, Number.isInteger(v) ? v : lo));
}

function poolFormula(size, kernel, p, n, k) {
  const open = p.floor ? "floor(" : "";
  const close = p.floor ? ")" : "";
  const room = size + 2 * p.P - kernel;
  let value;
  if (room < 0) value = `${room}/${p.S} + 1: the window does not fit`;
  else if (p.floor) value = String(Math.floor(room / p.S) + 1);
  else value = room % p.S ? `${pyG(room / p.S + 1)}, not an integer` : String(room / p.S + 1);
  return (
    `O${n} = ${open}(${n} + 2P − ${k})/S${close} + 1 = ` +
    `${open}(${size} + 2·${p.P} − ${kernel})/${p.S}${close} + 1 = ${value}`
  );
}

// One grid, rebuilt only when its key changes (a move of row or col, or of S when only out
// changes, reuses the others): an SVG with its cells and an empty overlay group on top.
function poolCached(ui, name, key, title, rows, cols, cells) {
  const cache = (ui.poolGrids ||= {});
  const hit = cache[name];
  if (hit && hit.key === key) return hit;
  const [svg, g] = poolGrid(title, rows, cols);
  g.innerHTML = cells(svg).join("");
  const grid = { key, svg, over: s("g", {}, g), top: s("g", {}, g) };
  cache[name] = grid;
  return grid;
}

// The values of a rows x cols array as cells.
function poolValues(a2, rows, cols, cls, attrs = () => "") {
  const parts = [];
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      const v = a2[a][b];
      parts.push(poolCell(b * POOL_CELL, a * POOL_CELL, cls(v), poolNum(v), attrs(a, b)));
    }
  }
  return parts;
}

// The grids: the padded input (values, padding hatched with −∞ or 0; the window corners go on
// its top layer), out (clickable), dout and dX.
function poolGrids(p, result, ui, { H, W, P, xs, padText }) {
  const { model } = ui;
  const hp = H + 2 * P;
  const wp = W + 2 * P;
  const ids = (ui.poolIds ||= new WeakMap()); // a number per array seen: part of the keys
  const id = (a) => {
    if (!ids.has(a)) ids.set(a, (ui.poolNext = (ui.poolNext || 0) + 1));
    return ids.get(a);
  };
  const input = poolCached(
    ui, "input", JSON.stringify([H, W, P, padText, id(xs)]),
    `padded input ${hp}×${wp} (x: ${H}×${W})`, hp, wp,
    (svg) => {
      const parts = [];
      for (let a = 0; a < hp; a++) {
        for (let b = 0; b < wp; b++) {
          const [x, y] = [b * POOL_CELL, a * POOL_CELL];
          if (a < P || b < P || a >= P + H || b >= P + W) {
            parts.push(poolCell(x, y, "cx-pad", padText, "", `fill: ${svg.hatch}`));
          } else {
            parts.push(poolCell(x, y, "cx-input", poolNum(xs[a - P][b - P])));
          }
        }
      }
      return parts;
    },
  );
  const dots = [];
  const grids = { input };
  if (result) {
    const { OH, OW } = result;
    for (let a = 0; a < OH; a++) {
      for (let b = 0; b < OW; b++) {
        const [cx, cy] = [b * p.S * POOL_CELL + 5, a * p.S * POOL_CELL + 5];
        dots.push(`<circle cx="${cx}" cy="${cy}" r="2.5" class="cx-dot"/>`);
      }
    }
    grids.out = poolCached(
      ui, "out", JSON.stringify(result.out), `out ${OH}×${OW} (OH×OW)`, OH, OW,
      () => poolValues(result.out, OH, OW, () => "cx-output cx-pool-pick",
        (a, b) => `data-oh="${a}" data-ow="${b}"`),
    );
    if (!grids.out.clicks) {
      // Clicking a cell of out selects it (the row and col sliders follow through the model).
      grids.out.clicks = true;
      grids.out.svg.addEventListener("click", (event) => {
        const hit = event.target.closest("[data-oh]");
        if (!hit) return;
        model.set("row", Number(hit.dataset.oh));
        model.set("col", Number(hit.dataset.ow));
        model.save_changes();
      });
    }
    grids.dout = poolCached(
      ui, "dout", JSON.stringify([OH, OW, id(result._dout)]), `dout ${OH}×${OW}`, OH, OW,
      () => poolValues(result._dout, OH, OW, () => "cx-output"),
    );
    grids.dx = poolCached(
      ui, "dx", JSON.stringify([H, W, result.dx]), `dX ${H}×${W}`, H, W,
      () => poolValues(result.dx, H, W, (v) => (v === 0 ? "cx-empty" : "cx-input")),
    );
  }
  input.top.innerHTML = dots.join(""); // above the overlay: every corner stays visible
  return grids;
}

const poolSpec = {
  name: "pooling",
  title: "Pooling: each window's max (or average), and where its gradient goes",
  params: [
    ...layerParams({ H: [2, 8], W: [2, 8], KH: [1, 4], KW: [1, 4], S: [1, 4], P: [0, 2], floor: true }),
    { name: "avg", label: "avg", type: "checkbox", help: "average pooling instead of max" },
    { name: "row", label: "row", min: 0, max: 0, help: "the output cell's row (or click a cell of out)" },
    { name: "col", label: "col", min: 0, max: 0, help: "the output cell's column (or click a cell of out)" },
  ],
  invalidState: { out: null, argmax: null, dx: null, cell: null },

  extraControls(ui) {
    // x and dout are traits too: new arrays from Python (a new seed) redraw the picture.
    ui.model.on("change:x", ui.update);
    ui.model.on("change:dout", ui.update);
  },

  compute(p, model, ui) {
    checkInt("H", p.H, 1);
    checkInt("W", p.W, 1);
    const xs = model.get("x");
    const ds = model.get("dout");
    checkArrayFits("H", p.H, "input x", gridShape(xs));
    checkArrayFits("W", p.W, "input x", gridShape(xs));
    const { H, W, KH, KW, S, P } = p;
    const [OH, OW] = poolOutputShape(H, W, KH, KW, S, P, p.floor);
    checkArrayFits("OH", OH, "dout", gridShape(ds));
    checkArrayFits("OW", OW, "dout", gridShape(ds));
    ui.inputs.row.input.max = OH - 1;
    ui.inputs.col.input.max = OW - 1;
    const r = poolClamp(p.row, 0, OH - 1);
    const c = poolClamp(p.col, 0, OW - 1);

    const area = KH * KW;
    const out = [];
    const argmax = p.avg ? null : [];
    const dx = Array.from({ length: H }, () => new Array(W).fill(0));
    for (let a = 0; a < OH; a++) {
      const line = [];
      for (let b = 0; b < OW; b++) {
        const [r0, c0] = [a * S - P, b * S - P];
        if (p.avg) {
          let sum = 0;
          for (let i = 0; i < KH; i++) {
            const xr = r0 + i;
            if (xr < 0 || xr >= H) continue;
            for (let j = 0; j < KW; j++) {
              const xc = c0 + j;
              if (xc >= 0 && xc < W) sum += xs[xr][xc];
            }
          }
          line.push(sum / area);
        } else {
          // The first maximum in row-major order: only a strictly greater value replaces it.
          let best = -Infinity;
          let at = null;
          for (let i = 0; i < KH; i++) {
            const xr = r0 + i;
            if (xr < 0 || xr >= H) continue;
            for (let j = 0; j < KW; j++) {
              const xc = c0 + j;
              if (xc >= 0 && xc < W && (at === null || xs[xr][xc] > best)) {
                best = xs[xr][xc];
                at = [xr, xc];
              }
            }
          }
          line.push(best);
          argmax.push(at);
          dx[at[0]][at[1]] += ds[a][b];
        }
      }
      out.push(line);
    }
    if (p.avg) {
      // In conv.pooling's order (tap by tap, as fold_windows adds), so the sums match exactly.
      for (let i = 0; i < KH; i++) {
        for (let j = 0; j < KW; j++) {
          for (let a = 0; a < OH; a++) {
            const xr = a * S + i - P;
            if (xr < 0 || xr >= H) continue;
            for (let b = 0; b < OW; b++) {
              const xc = b * S + j - P;
              if (xc >= 0 && xc < W) dx[xr][xc] += ds[a][b] / area;
            }
          }
        }
      }
    }
    const summary =
      `${p.avg ? "average" : "max"} pooling: output ${OH} × ${OW}; ` +
      `out[${r}, ${c}] = ${poolNum(out[r][c])} is outlined (click a cell of out to pick another)`;
    return { OH, OW, out, argmax, dx, cell: [r, c], summary, _x: xs, _dout: ds };
  },

  draw(view, p, result, ui) {
    const { model } = ui;
    const [xRows, xCols] = gridShape(model.get("x"));
    const H = poolClamp(p.H, 1, Math.max(1, xRows));
    const W = poolClamp(p.W, 1, Math.max(1, xCols));
    const P = poolClamp(p.P, 0, 4);
    const KH = poolClamp(p.KH, 1, 16);
    const KW = poolClamp(p.KW, 1, 16);
    const xs = model.get("x");
    const padText = p.avg ? "0" : "−∞";
    const padValue = p.avg ? 0 : -Infinity;
    const area = KH * KW;

    const formulas = h("div", { class: "cx-formula" });
    if (Number.isInteger(p.S) && p.S >= 1) {
      formulas.append(
        h("div", { text: poolFormula(H, KH, { ...p, P }, "H", "KH") }),
        h("div", { text: poolFormula(W, KW, { ...p, P }, "W", "KW") }),
      );
    }
    view.append(formulas);

    // The selected window: its cells (padded coordinates), values, the argmax.
    let win = null;
    if (result) {
      const [r, c] = result.cell;
      const [r0, c0] = [r * p.S, c * p.S]; // corner in the padded input
      const cells = [];
      for (let i = 0; i < KH; i++) {
        for (let j = 0; j < KW; j++) {
          const [a, b] = [r0 + i - P, c0 + j - P];
          const real = a >= 0 && a < H && b >= 0 && b < W;
          cells.push({ a, b, real, v: real ? xs[a][b] : padValue });
        }
      }
      const at = p.avg ? null : result.argmax[r * result.OW + c];
      win = { r, c, r0, c0, cells, at };
      const vals = cells.map((q) => poolNum(q.v));
      const d = result._dout[r][c];
      const nPad = cells.filter((q) => !q.real).length;
      let fwd;
      let bwd;
      if (p.avg) {
        const sum = cells.reduce((t, q) => t + q.v, 0);
        fwd =
          `out[${r}, ${c}] = (${vals.join(" + ")})/(${KH}·${KW}) = ${poolNum(sum)}/${area} = ` +
          poolNum(result.out[r][c]);
        bwd =
          `backward: each of the ${area} cells of the window gets dout[${r}, ${c}]/(KH·KW) = ` +
          `${poolNum(d)}/${area} = ${poolNum(d / area)}` +
          (nPad ? `; the ${nPad} padding cell${nPad === 1 ? " drops its" : "s drop their"} share` : "");
      } else {
        fwd =
          `out[${r}, ${c}] = max(${vals.join(", ")}) = ${poolNum(result.out[r][c])}, ` +
          `first at x[${at[0]}, ${at[1]}]`;
        bwd =
          `backward: all of dout[${r}, ${c}] = ${poolNum(d)} goes to x[${at[0]}, ${at[1]}], ` +
          "the rest of the window gets 0";
      }
      formulas.append(
        h("div", { text: fwd }),
        h("div", { text: `${bwd}; dX adds what every window sends (overlaps add)` }),
      );
    }

    const figs = h("div", { class: "cx-figs" });
    view.append(figs);

    const grids = poolGrids(p, result, ui, { H, W, P, xs, padText });
    figs.append(...Object.values(grids).map((g) => g.svg));

    // The overlay: the window's cells and frame, its argmax, the selected out and dout cells,
    // and the dX cells the window sends its gradient to.
    const ring = (x, y) =>
      `<rect x="${x + 3}" y="${y + 3}" width="${POOL_CELL - 6}" height="${POOL_CELL - 6}" class="cx-frame-accent"/>`;
    const over = { input: [], out: [], dout: [], dx: [] };
    if (win) {
      for (const q of win.cells) {
        if (!q.real) continue;
        const [x, y] = [(q.b + P) * POOL_CELL, (q.a + P) * POOL_CELL];
        const isMax = win.at && win.at[0] === q.a && win.at[1] === q.b;
        const cls = isMax ? "cx-accent" : "cx-input cx-current";
        // The dashed ring goes after the cell, outside its group (whose rects are filled).
        over.input.push(poolCell(x, y, cls, poolNum(q.v)) + (isMax ? ring(x, y) : ""));
        if (p.avg || isMax) {
          const [u, v] = [q.b * POOL_CELL, q.a * POOL_CELL];
          const text = poolNum(result.dx[q.a][q.b]);
          over.dx.push(poolCell(u, v, cls, text) + (isMax ? ring(u, v) : ""));
        }
      }
      const [fx, fy] = [win.c0 * POOL_CELL, win.r0 * POOL_CELL];
      over.input.push(
        `<rect x="${fx}" y="${fy}" width="${KW * POOL_CELL}" height="${KH * POOL_CELL}" class="cx-frame"/>`,
      );
      const [x, y] = [win.c * POOL_CELL, win.r * POOL_CELL];
      const attrs = `data-oh="${win.r}" data-ow="${win.c}"`;
      const o = poolNum(result.out[win.r][win.c]);
      over.out.push(poolCell(x, y, "cx-output cx-current cx-pool-pick", o, attrs));
      over.dout.push(poolCell(x, y, "cx-output cx-current", poolNum(result._dout[win.r][win.c])));
    }
    for (const [name, g] of Object.entries(grids)) g.over.innerHTML = over[name].join("");
    if (!result) return;
    const [r, c] = result.cell;

    const sw = (fill, stroke, extra = "") =>
      `<i class="cx-swatch" style="background:var(${fill});border-color:var(${stroke || "--cx-grid"})${extra}"></i>`;
    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML =
      `<span>${sw("--cx-pad")}padding (${padText}: ${p.avg ? "counts in the mean" : "never wins"})</span>` +
      `<span>${sw("--cx-current-fill", "--cx-current")}the window of out[${r}, ${c}]</span>` +
      (p.avg
        ? ""
        : `<span>${sw("--cx-accent-fill", "--cx-accent", ";border-style:dashed")}its maximum (the first, row-major)</span>`) +
      "<span>• window corners</span>" +
      '<span><i class="cx-swatch" style="border-style:dashed"></i>dX = 0: no gradient arrives</span>';
    view.append(legend);
  },
};

export default {
  render({ model, el }) {
    return explorer(poolSpec, { model, el });
  },
};
