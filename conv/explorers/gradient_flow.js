// gradient_flow.js: chapter 6's explorer. Pick an input pixel (the row/col sliders, or click it)
// and see every path of the backward pass into it: output (oh, ow) reads the pixel through kernel
// tap (kh, kw) when oh*S + kh*D - P = row and ow*S + kw*D - P = col, and each path carries
// dout[oh, ow] * w[kh, kw]. dX[row, col] is their sum: col2im adds where windows overlap. The
// input shows how many windows read each pixel (conv.overlap_counts).

const CELL = 30;
const FONT = Math.min(CELL * 0.42, 13); // as common.js's cell()

// The markup of common.js's cell() (and cross()) as a string: a grid of a hundred cells is
// parsed in one go, about twice as fast as building it node by node.
function cellMarkup(x, y, cls, text, attrs = "", style = "", extra = "") {
  const fill = style ? ` style="${style}"` : "";
  const label =
    text === null || text === undefined
      ? ""
      : `<text x="${x + CELL / 2}" y="${y + CELL / 2}" font-size="${FONT}">${text}</text>`;
  const rect = `<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}"${fill}/>`;
  return `<g class="cx-cell ${cls}" ${attrs}>${rect}${label}${extra}</g>`;
}

function crossMarkup(x, y) {
  const m = CELL * 0.2;
  const [a, b] = [x + m, x + CELL - m];
  const [c, d] = [y + m, y + CELL - m];
  return `<path d="M${a},${c} L${b},${d} M${b},${c} L${a},${d}" class="cx-dropped"/>`;
}

// Negative numbers in brackets inside a product, with a real minus sign.
function num(v) {
  return v < 0 ? `(−${fmt(-v)})` : fmt(v);
}

function signed(v) {
  return v < 0 ? `−${fmt(-v)}` : fmt(v);
}

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, Number.isInteger(v) ? v : lo));
}

// The rows x cols top-left corner of a nested list, or a GeometryError if it is too small
// (the same message as conv/explorers/gradient_flow.py).
function corner(name, a, rows, cols, letters) {
  const list = Array.isArray(a) ? a : [];
  const haveRows = list.length;
  const haveCols = haveRows ? Math.min(...list.map((r) => (Array.isArray(r) ? r.length : 0))) : 0;
  if (haveRows < rows || haveCols < cols) {
    throw new GeometryError(
      `${name} holds ${haveRows}x${haveCols} values but ${letters} = ${rows}x${cols}: ` +
        `pass a bigger ${name}`,
    );
  }
  return list.slice(0, rows).map((r) => r.slice(0, cols));
}

// How many (o, k) pairs put a tap on each real index 0..size-1: o*S + k*D - P = index.
function hits(size, kernel, p, nOut) {
  const out = new Array(size).fill(0);
  for (let o = 0; o < nOut; o++) {
    for (let k = 0; k < kernel; k++) {
      const r = o * p.S + k * p.D - p.P;
      if (r >= 0 && r < size) out[r] += 1;
    }
  }
  return out;
}

// The paths into pixel [r, c]: [oh, ow, kh, kw], row-major over oh, ow (kh, kw are then unique).
function pathsInto(pixel, p, OH, OW) {
  const [r, c] = pixel;
  const taps = (pos, o, kernel) => {
    const reach = pos + p.P - o * p.S;
    if (reach < 0 || reach % p.D !== 0) return -1;
    const k = reach / p.D;
    return k < kernel ? k : -1;
  };
  const paths = [];
  for (let oh = 0; oh < OH; oh++) {
    const kh = taps(r, oh, p.KH);
    if (kh < 0) continue;
    for (let ow = 0; ow < OW; ow++) {
      const kw = taps(c, ow, p.KW);
      if (kw >= 0) paths.push([oh, ow, kh, kw]);
    }
  }
  return paths;
}

// The row/col sliders stop at the last pixel; a larger model value shows the last pixel.
function selectPixel(p, ui) {
  const H = clamp(p.H, 1, 64);
  const W = clamp(p.W, 1, 64);
  const pixel = [clamp(p.row, 0, H - 1), clamp(p.col, 0, W - 1)];
  if (ui) {
    ["row", "col"].forEach((name, axis) => {
      const { input, shown } = ui.inputs[name];
      input.max = (axis ? W : H) - 1;
      input.value = pixel[axis];
      shown.textContent = String(pixel[axis]);
    });
  }
  return pixel;
}

// An SVG with a title line and a group for rows x cols cells (wide enough for the title).
function grid(title, rows, cols) {
  const svg = newSvg(Math.max(cols * CELL + 2, title.length * 6.6), rows * CELL + 22, title);
  label(svg, 1, 9, title);
  const g = s("g", { transform: "translate(1, 20)" }, svg);
  return [svg, g];
}

const spec = {
  name: "gradient-flow",
  title: "Gradient flow: every path from dout back to one input pixel",
  params: [
    ...layerParams({ H: [2, 7], W: [2, 7], KH: [1, 4], KW: [1, 4], S: [1, 3], P: [0, 2], D: [1, 2], floor: true }),
    { name: "row", label: "row", min: 0, max: 6, help: "the pixel's row (or click a pixel)" },
    { name: "col", label: "col", min: 0, max: 6, help: "the pixel's column (or click a pixel)" },
  ],
  invalidState: { pixel: null, paths: null, dout: null, w: null, total: null, counts: null },

  extraControls(ui) {
    // dout and w are traits too: new arrays from Python redraw the picture.
    ui.model.on("change:dout", ui.update);
    ui.model.on("change:w", ui.update);
  },

  compute(p, model, ui) {
    const pixel = selectPixel(p, ui);
    const [OH, OW] = convOutputShape(p.H, p.W, p.KH, p.KW, p.S, p.P, p.D, p.floor);
    const dout = corner("dout", model.get("dout"), OH, OW, "OH x OW");
    const w = corner("w", model.get("w"), p.KH, p.KW, "KH x KW");
    const rowHits = hits(p.H, p.KH, p, OH);
    const colHits = hits(p.W, p.KW, p, OW);
    const counts = rowHits.map((a) => colHits.map((b) => a * b));
    const paths = pathsInto(pixel, p, OH, OW);
    let total = 0;
    for (const [oh, ow, kh, kw] of paths) total += dout[oh][ow] * w[kh][kw];
    const [r, c] = pixel;
    const n = paths.length;
    const summary =
      `pixel (${r}, ${c}) is read by ${n} of the ${OH * OW} windows` +
      (n ? `: dX[${r}, ${c}] = ${signed(total)}` : ": no path, its gradient is 0");
    return { OH, OW, pixel, paths, dout, w, total, counts, summary };
  },

  draw(view, p, result, ui) {
    const { model } = ui;
    const H = clamp(p.H, 1, 64);
    const W = clamp(p.W, 1, 64);
    const P = clamp(p.P, 0, 16);
    const [r, c] = result ? result.pixel : selectPixel(p, null);

    if (result) {
      const { paths, dout, w, total } = result;
      const formulas = h("div", { class: "cx-formula" });
      const rule =
        `window (oh, ow) reads pixel (${r}, ${c}) through tap (kh, kw) when ` +
        `oh·${p.S} + kh·${p.D} − ${p.P} = ${r} and ` +
        `ow·${p.S} + kw·${p.D} − ${p.P} = ${c}`;
      formulas.append(h("div", { text: rule }));
      if (paths.length) {
        const names = paths.map(([a, b, i, j]) => `dout[${a},${b}]·w[${i},${j}]`);
        const values = paths.map(([a, b, i, j]) => `${num(dout[a][b])}·${num(w[i][j])}`);
        const sum =
          `dX[${r}, ${c}] = ${names.join(" + ")}` +
          (paths.length > 1 ? ` = ${values.join(" + ")}` : ` = ${values[0]}`) +
          ` = ${signed(total)}`;
        formulas.append(h("div", { class: "cx-gf-sum", text: sum }));
      } else {
        const none = `dX[${r}, ${c}] = 0: no window reads this pixel`;
        formulas.append(h("div", { class: "cx-gf-sum", text: none }));
      }
      view.append(formulas);
    }
    const figs = h("div", { class: "cx-figs" });
    view.append(figs);

    // The padded input: overlap counts on the real pixels, the selected pixel outlined.
    const hp = H + 2 * P;
    const wp = W + 2 * P;
    const title = `input ${H}×${W}${result ? ": windows per pixel" : ""}`;
    const [inSvg, gi] = grid(title, hp, wp);
    const cells = [];
    for (let a = 0; a < hp; a++) {
      for (let b = 0; b < wp; b++) {
        const [x, y] = [b * CELL, a * CELL];
        if (a < P || b < P || a >= P + H || b >= P + W) {
          cells.push(cellMarkup(x, y, "cx-pad", null, "", `fill: ${inSvg.hatch}`));
          continue;
        }
        const [pr, pc] = [a - P, b - P];
        const count = result ? result.counts[pr][pc] : null;
        const cls = `cx-input cx-gf-pick${pr === r && pc === c ? " cx-current" : ""}`;
        const mark = count === 0 ? crossMarkup(x, y) : "";
        const attrs = `data-row="${pr}" data-col="${pc}"`;
        cells.push(cellMarkup(x, y, cls, count || null, attrs, "", mark));
      }
    }
    gi.innerHTML = cells.join("");
    // Clicking a real pixel selects it (the sliders follow through the model).
    inSvg.addEventListener("click", (event) => {
      const hit = event.target.closest("[data-row]");
      if (!hit) return;
      model.set("row", Number(hit.dataset.row));
      model.set("col", Number(hit.dataset.col));
      model.save_changes();
    });
    figs.append(inSvg);
    if (!result) return;

    const { OH, OW, paths, dout, w } = result;
    const via = new Map(paths.map(([a, b, i, j]) => [`${a},${b}`, [i, j]]));
    const used = new Set(paths.map(([, , i, j]) => `${i},${j}`));

    // dout: the windows that read the pixel, with the weight each path multiplies by.
    const [outSvg, go] = grid(`dout ${OH}×${OW} (OH×OW)`, OH, OW);
    cells.length = 0;
    for (let a = 0; a < OH; a++) {
      for (let b = 0; b < OW; b++) {
        const [x, y] = [b * CELL, a * CELL];
        const tap = via.get(`${a},${b}`);
        const attrs = `data-oh="${a}" data-ow="${b}"`;
        if (!tap) {
          cells.push(cellMarkup(x, y, "cx-output", signed(dout[a][b]), attrs));
          continue;
        }
        // A path: dout[oh, ow] on top, "×weight" of the tap it goes through below.
        const mid = x + CELL / 2;
        const [value, weight] = [signed(dout[a][b]), signed(w[tap[0]][tap[1]])];
        const top = `<text x="${mid}" y="${y + 10.5}" font-size="${FONT}">${value}</text>`;
        const low = `<text x="${mid}" y="${y + 23}" class="cx-gf-weight">×${weight}</text>`;
        cells.push(cellMarkup(x, y, "cx-output cx-current", null, attrs, "", top + low));
      }
    }
    go.innerHTML = cells.join("");
    // Hovering a window outlines it on the padded input.
    const spanH = p.D * (p.KH - 1) + 1;
    const spanW = p.D * (p.KW - 1) + 1;
    let frame = null;
    const unframe = () => {
      if (frame) frame.remove();
      frame = null;
    };
    outSvg.addEventListener("mouseover", (event) => {
      const hit = event.target.closest("[data-oh]");
      unframe();
      if (!hit) return;
      const [a, b] = [Number(hit.dataset.oh), Number(hit.dataset.ow)];
      const [x, y] = [b * p.S * CELL, a * p.S * CELL];
      const box = { x, y, width: spanW * CELL, height: spanH * CELL };
      frame = s("rect", { ...box, class: "cx-frame-accent cx-gf-hover" }, gi);
    });
    outSvg.addEventListener("mouseleave", unframe);
    figs.append(outSvg);

    // The kernel: the taps the paths use.
    const [wSvg, gw] = grid(`w ${p.KH}×${p.KW}`, p.KH, p.KW);
    cells.length = 0;
    for (let i = 0; i < p.KH; i++) {
      for (let j = 0; j < p.KW; j++) {
        const cls = used.has(`${i},${j}`) ? "cx-input cx-accent" : "cx-input";
        const attrs = `data-kh="${i}" data-kw="${j}"`;
        cells.push(cellMarkup(j * CELL, i * CELL, cls, signed(w[i][j]), attrs));
      }
    }
    gw.innerHTML = cells.join("");
    figs.append(wSvg);

    const swatch = (fill, edge) => {
      const border = edge ? `;border:2px solid var(${edge})` : "";
      return `<i class="cx-swatch" style="background:var(${fill})${border}"></i>`;
    };
    const items = [
      "number: windows that read the pixel",
      `${swatch("--cx-current-fill", "--cx-current")}the pixel (click another)`,
      `${swatch("--cx-current-fill", "--cx-current")}windows that read it: dout, ×weight`,
      `${swatch("--cx-accent-fill", "--cx-accent")}kernel taps used`,
      `${swatch("--cx-pad")}padding`,
      "×weights row by row: w rotated by 180°",
    ];
    if (result.counts.some((row) => row.includes(0))) {
      items.push('<b style="color:var(--cx-dropped)">✕</b> read by no window: dX = 0');
    }
    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML = items.map((item) => `<span>${item}</span>`).join("");
    view.append(legend);
  },
};

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
