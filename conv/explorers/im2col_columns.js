// im2col_columns.js: the explorer of chapters 2 and 3. A batch x (N, C, H, W) of small numbered
// images, padded by P, and X_col = conv.im2col(x) of shape (C*KH*KW, OH*OW*N). One column is
// selected: the window it copies is outlined on every channel of its image, its patch is shown
// channel by channel, and X_col is drawn with that column outlined. Column (oh*OW + ow)*N + n
// holds window (oh, ow) of image n (the image index runs fastest); row (c*KH + i)*KW + j holds
// kernel tap (i, j) of channel c (rows grouped by channel), as in conv.im2col_indices.

const MAT_W = 640; // user units the bands of X_col may take across
const MAT_H = 760; // and down (the cell size shrinks until the whole matrix fits)
const SIZES = [22, 20, 18, 16, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4];

function clampInt(v, lo, hi) {
  return Math.max(lo, Math.min(hi, Math.trunc(Number(v)) || 0));
}

function shapeOf(x) {
  const a = Array.isArray(x) ? x : [];
  const b = a[0] || [];
  const c = b[0] || [];
  return [a.length, b.length, c.length, (c[0] || []).length];
}

// The geometry of one X_col, with the per-row and per-column halves of the index arrays
// (kernel offset + window start, as conv.im2col_indices builds them).
function layoutOf(p, OH, OW) {
  const R = p.C * p.KH * p.KW;
  const M = p.N * OH * OW;
  const rowC = [];
  const rowI = []; // D*i: kernel row offset
  const rowJ = []; // D*j: kernel column offset
  for (let c = 0; c < p.C; c++) {
    for (let i = 0; i < p.KH; i++) {
      for (let j = 0; j < p.KW; j++) {
        rowC.push(c);
        rowI.push(i * p.D);
        rowJ.push(j * p.D);
      }
    }
  }
  const colN = [];
  const colTop = []; // S*oh: window start row
  const colLeft = []; // S*ow: window start column
  for (let k = 0; k < M; k++) {
    const q = Math.floor(k / p.N);
    colN.push(k % p.N);
    colTop.push(Math.floor(q / OW) * p.S);
    colLeft.push((q % OW) * p.S);
  }
  return { R, M, rowC, rowI, rowJ, colN, colTop, colLeft };
}

// Entry (r, k) of X_col: the padded pixel it reads, whether it is padding, and its value.
function entry(x, p, L, r, k) {
  const ph = L.rowI[r] + L.colTop[k];
  const pw = L.rowJ[r] + L.colLeft[k];
  const h = ph - p.P;
  const w = pw - p.P;
  const pad = h < 0 || h >= p.H || w < 0 || w >= p.W;
  return { ph, pw, h, w, pad, value: pad ? 0 : x[L.colN[k]][L.rowC[r]][h][w] };
}

// A block of square cells in one go: kind(r, c) is "in", "pad", "cur" (selected pixel) or
// "curpad" (selected padding); text(r, c) the number to write (or null for none). X_col can
// have thousands of entries, so the block is one white rectangle, one hatched path for the
// runs of padding in each row, one path for the grid lines and one <text> per row; only the
// few selected cells get a path of their own.
function cellBlock(g, rows, cols, size, kind, text, hatch) {
  const pads = [];
  const cur = { cur: [], curpad: [] };
  for (let r = 0; r < rows; r++) {
    let run = -1; // first column of the current run of padding
    for (let c = 0; c <= cols; c++) {
      const k = c < cols ? kind(r, c) : "in";
      const pad = k === "pad" || k === "curpad";
      if (pad && run < 0) run = c;
      if (!pad && run >= 0) {
        pads.push(`M${run * size},${r * size}h${(c - run) * size}v${size}h${(run - c) * size}z`);
        run = -1;
      }
      if (k === "cur" || k === "curpad") {
        cur[k].push(`M${c * size},${r * size}h${size}v${size}h${-size}z`);
      }
    }
  }
  s("rect", { width: cols * size, height: rows * size, class: "cx-im-in" }, g);
  if (pads.length) s("path", { d: pads.join(""), class: "cx-im-pad" }, g).style.fill = hatch;
  const lines = [];
  for (let r = 0; r <= rows; r++) lines.push(`M0,${r * size}H${cols * size}`);
  for (let c = 0; c <= cols; c++) lines.push(`M${c * size},0V${rows * size}`);
  const grid = s("path", { d: lines.join(""), class: "cx-im-grid" }, g);
  if (size < 10) grid.style.strokeWidth = 0.5;
  for (const k of ["cur", "curpad"]) {
    if (cur[k].length) s("path", { d: cur[k].join(""), class: `cx-im-${k}` }, g);
  }
  if (!text) return;
  const items = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = text(r, c);
      if (t !== null && t !== undefined) items.push([r, c, String(t)]);
    }
  }
  if (!items.length) return;
  const long = Math.max(...items.map((it) => it[2].length));
  const fs = Math.min(13, size * 0.6, (size * 1.1) / long);
  const mid = (v) => v * size + size / 2;
  if (long === 1) {
    // One <text> for the block: each digit placed at its own cell centre.
    s(
      "text",
      {
        x: items.map((it) => mid(it[1])).join(" "),
        y: items.map((it) => mid(it[0])).join(" "),
        "font-size": fs,
        class: "cx-im-num",
        text: items.map((it) => it[2]).join(""),
      },
      g,
    );
  } else {
    for (const [r, c, t] of items) {
      s("text", { x: mid(c), y: mid(r), "font-size": fs, class: "cx-im-num", text: t }, g);
    }
  }
}

function formula(size, kernel, p, letters) {
  const [n, k] = letters;
  const kd = p.D === 1 ? k : `D·(${k} − 1) − 1`;
  const kt = p.D === 1 ? `${kernel}` : `${p.D}·(${kernel} − 1) − 1`;
  const open = p.floor ? "floor(" : "";
  const close = p.floor ? ")" : "";
  const room = size + 2 * p.P - (p.D * (kernel - 1) + 1);
  let value;
  if (room < 0) value = `${room}/${p.S} + 1: the window does not fit`;
  else if (p.floor) value = String(Math.floor(room / p.S) + 1);
  else value = room % p.S ? `${pyG(room / p.S + 1)}, not an integer` : String(room / p.S + 1);
  return (
    `O${n} = ${open}(${n} + 2P − ${kd})/S${close} + 1 = ` +
    `${open}(${size} + 2·${p.P} − ${kt})/${p.S}${close} + 1 = ${value}`
  );
}

// The padded batch: one grid per image (rows of the figure) and channel (columns). With a
// selection, the taps of its window are highlighted and the window outlined on every channel
// of its image; the other images are dimmed.
function drawInputs(p, x, sel) {
  const { N, C, H, W, P } = p;
  const Hp = H + 2 * P;
  const Wp = W + 2 * P;
  const cs = Math.max(12, Math.min(22, Math.floor(132 / Math.max(Hp, Wp))));
  const left = 40;
  const top = 34;
  const gap = 12;
  const gw = Wp * cs;
  const gh = Hp * cs;
  const width = Math.max(190, left + C * gw + (C - 1) * gap + 2);
  const height = top + N * gh + (N - 1) * gap + 2;
  const what = `input x: ${N} image(s) of ${C} channel(s), padded to ${Hp} by ${Wp}`;
  const svg = newSvg(width, height, what);
  label(svg, 0, 8, `input x, padded by P = ${P}`);
  for (let c = 0; c < C; c++) {
    s("text", { x: left + c * (gw + gap) + gw / 2, y: 24, "font-size": 12, text: `c=${c}` }, svg);
  }
  const taps = new Set();
  if (sel) for (const [ph, pw] of sel.taps) taps.add(ph * Wp + pw);
  for (let n = 0; n < N; n++) {
    const y0 = top + n * (gh + gap);
    const chosen = sel && n === sel.n;
    const t = label(svg, 0, y0 + gh / 2, chosen ? `n=${n} ▸` : `n=${n}`);
    if (chosen) t.setAttribute("font-weight", "bold");
    for (let c = 0; c < C; c++) {
      const g = s(
        "g",
        {
          transform: `translate(${left + c * (gw + gap)}, ${y0})`,
          class: sel && !chosen ? "cx-im-dim" : null,
        },
        svg,
      );
      const img = x[n][c];
      const isPad = (r, q) => r < P || q < P || r >= P + H || q >= P + W;
      cellBlock(
        g,
        Hp,
        Wp,
        cs,
        (r, q) => {
          const pad = isPad(r, q);
          if (chosen && taps.has(r * Wp + q)) return pad ? "curpad" : "cur";
          return pad ? "pad" : "in";
        },
        (r, q) => (isPad(r, q) ? (cs >= 16 ? "0" : null) : fmt(img[r - P][q - P])),
        svg.hatch,
      );
      if (chosen) {
        s(
          "rect",
          {
            x: sel.left * cs,
            y: sel.top * cs,
            width: sel.spanW * cs,
            height: sel.spanH * cs,
            class: "cx-frame",
          },
          g,
        );
      }
    }
  }
  return svg;
}

// The selected column's patch, channel by channel (KH x KW taps each), and the rows of X_col
// each channel's taps land in, flattened row by row.
function drawPatch(p, res) {
  const cs = 22;
  const gh = p.KH * cs;
  const left = 40;
  const top = 20;
  const gap = 16;
  const kk = p.KH * p.KW;
  const width = Math.max(220, left + p.KW * cs + 14 + Math.max(90, kk * 13));
  const height = top + p.C * gh + (p.C - 1) * gap + 2;
  const svg = newSvg(width, height, `patch of column ${res.column}`);
  label(svg, 0, 8, `patch of column ${res.column}`);
  for (let c = 0; c < p.C; c++) {
    const y0 = top + c * (gh + gap);
    label(svg, 0, y0 + gh / 2, `c=${c}`);
    const g = s("g", { transform: `translate(${left}, ${y0})` }, svg);
    const at = (i, j) => c * kk + i * p.KW + j;
    cellBlock(
      g,
      p.KH,
      p.KW,
      cs,
      (i, j) => (res.sources[at(i, j)] ? "cur" : "curpad"),
      (i, j) => fmt(res.values[at(i, j)]),
      svg.hatch,
    );
    const r0 = c * kk;
    const tx = left + p.KW * cs + 10;
    const rows = kk === 1 ? `→ row ${r0}` : `→ rows ${r0}–${r0 + kk - 1}`;
    label(svg, tx, y0 + Math.min(gh / 2, 8), rows);
    if (gh >= 30) {
      label(svg, tx, y0 + 24, res.values.slice(r0, r0 + kk).map(fmt).join(" "));
    }
  }
  return svg;
}

// How X_col is cut into bands of whole output rows (or whole windows) and how big its cells are.
function bandsOf(R, M, N, perRow) {
  let best = null;
  for (const cs of SIZES) {
    let per = Math.floor(MAT_W / cs);
    if (per >= M) per = M;
    else if (per >= perRow) per = Math.floor(per / perRow) * perRow;
    else per = Math.max(N, Math.floor(per / N) * N);
    const bands = Math.ceil(M / per);
    const header = 16 + (cs * N >= 34 ? 13 : 0) + (N > 1 && cs >= 11 ? 12 : 0);
    best = { cs, per, bands, header, bandH: header + R * cs + 12 };
    if (best.bands * best.bandH <= MAT_H) break;
  }
  return best;
}

// X_col with rows grouped by channel, columns cut into bands, the selected column outlined.
// Clicking a column selects it.
function drawMatrix(p, x, res, L, ui) {
  const { OW, column } = res;
  const { R, M } = L;
  const kk = p.KH * p.KW;
  const perRow = OW * p.N;
  const { cs, per, bands, header, bandH } = bandsOf(R, M, p.N, perRow);
  const nums = cs >= 11;
  const winLabels = cs * p.N >= 34;
  const nRow = p.N > 1 && cs >= 11;
  const left = winLabels ? 48 : 38;
  const width = Math.max(260, left + Math.min(per, M) * cs + 4);
  const svg = newSvg(width, bands * bandH, `X_col, ${R} by ${M}, column ${column} outlined`);
  svg.classList.add("cx-im-matrix");
  for (let b = 0; b < bands; b++) {
    const j0 = b * per;
    const j1 = Math.min(M, j0 + per);
    const y0 = b * bandH + header;
    const head =
      b === 0
        ? `X_col (${R} × ${M}), columns ${j0}–${j1 - 1}`
        : `columns ${j0}–${j1 - 1}`;
    label(svg, 0, b * bandH + 8, head);
    const g = s("g", { transform: `translate(${left}, ${y0})` }, svg);
    const cells = [];
    for (let r = 0; r < R; r++) {
      const row = [];
      for (let k = j0; k < j1; k++) row.push(entry(x, p, L, r, k));
      cells.push(row);
    }
    const selK = column >= j0 && column < j1 ? column - j0 : -1;
    cellBlock(
      g,
      R,
      j1 - j0,
      cs,
      (r, k) => {
        const pad = cells[r][k].pad;
        if (k === selK) return pad ? "curpad" : "cur";
        return pad ? "pad" : "in";
      },
      nums || cs >= 8 ? (r, k) => (nums || k === selK ? fmt(cells[r][k].value) : null) : null,
      svg.hatch,
    );
    // Separators: channels between rows; output rows (thick) and windows (thin) between columns.
    const sep = [];
    const thin = [];
    for (let c = 1; c < p.C; c++) sep.push(`M-4,${c * kk * cs}H${(j1 - j0) * cs}`);
    for (let k = j0 + 1; k < j1; k++) {
      const line = `M${(k - j0) * cs},0V${R * cs}`;
      if (k % perRow === 0) sep.push(line);
      else if (k % p.N === 0) thin.push(line);
    }
    if (sep.length) s("path", { d: sep.join(""), class: "cx-im-sep" }, g);
    if (thin.length) s("path", { d: thin.join(""), class: "cx-im-sep-thin" }, g);
    for (let c = 0; c < p.C; c++) {
      const fs = Math.min(12, Math.max(7, kk * cs * 0.8));
      s(
        "text",
        { x: -6, y: (c * kk + kk / 2) * cs, "font-size": fs, class: "cx-im-end", text: `c=${c}` },
        g,
      );
    }
    // Column headings: the window (oh, ow) over each group of N columns, then the image n.
    const nY = nRow ? -6 : null;
    const wY = -6 - (nRow ? 12 : 0);
    if (winLabels) {
      for (let k = j0 - (j0 % p.N); k < j1; k += p.N) {
        const q = k / p.N;
        s(
          "text",
          {
            x: (k - j0 + p.N / 2) * cs,
            y: wY,
            "font-size": Math.min(10, (p.N * cs) / 5),
            text: `(${Math.floor(q / OW)},${q % OW})`,
          },
          g,
        );
      }
    }
    if (nRow) {
      s(
        "text",
        {
          x: range(j1 - j0).map((k) => k * cs + cs / 2).join(" "),
          y: nY,
          "font-size": Math.min(10, cs * 0.6),
          class: "cx-im-n",
          text: range(j1 - j0).map((k) => String((j0 + k) % p.N)).join(""),
        },
        g,
      );
      s("text", { x: -6, y: nY, "font-size": 10, class: "cx-im-end", text: "n" }, g);
    }
    if (winLabels) {
      s("text", { x: -6, y: wY, "font-size": 10, class: "cx-im-end", text: "(oh,ow)" }, g);
    }
    if (selK >= 0) {
      const up = (winLabels ? 13 : 0) + (nRow ? 12 : 0);
      s(
        "rect",
        { x: selK * cs, y: -up, width: cs, height: R * cs + up, class: "cx-frame cx-im-selected" },
        g,
      );
    }
  }
  svg.addEventListener("click", (ev) => {
    const m = svg.getScreenCTM();
    if (!m) return;
    const pt = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
    const b = Math.floor(pt.y / bandH);
    const k = Math.floor((pt.x - left) / cs);
    const j = b * per + k;
    if (b < 0 || b >= bands || k < 0 || k >= per || j >= M) return;
    ui.model.set("col", j);
    ui.model.save_changes();
  });
  return svg;
}

const spec = {
  name: "im2col",
  title: "im2col: every window becomes a column of X_col",
  params: [
    ...layerParams({ N: [1, 3], C: [1, 3], H: [1, 6], W: [1, 6], KH: [1, 4], KW: [1, 4], S: [1, 3], P: [0, 2], D: [1, 2], floor: true }),
    { name: "col", label: "column", min: 0, max: 299, help: "which column of X_col is selected" },
  ],
  invalidState: { column: null, n: null, oh: null, ow: null, sources: null, values: null },

  compute(p, model, ui) {
    checkInt("N", p.N, 1);
    checkInt("C", p.C, 1);
    const [OH, OW] = convOutputShape(p.H, p.W, p.KH, p.KW, p.S, p.P, p.D, p.floor);
    const x = model.get("x");
    const shape = shapeOf(x);
    ["N", "C", "H", "W"].forEach((name, k) => {
      if (p[name] > shape[k]) {
        throw new GeometryError(
          `${name} must be <= ${shape[k]} (the explorer's x has shape ` +
            `(${shape.join(", ")})), got ${p[name]}`,
        );
      }
    });
    const M = p.N * OH * OW;
    const R = p.C * p.KH * p.KW;
    ui.inputs.col.input.max = M - 1;
    const column = clampInt(p.col, 0, M - 1);
    const n = column % p.N;
    const q = (column - n) / p.N;
    const oh = Math.floor(q / OW);
    const ow = q % OW;
    const sources = [];
    const values = [];
    for (let c = 0; c < p.C; c++) {
      for (let i = 0; i < p.KH; i++) {
        for (let j = 0; j < p.KW; j++) {
          const h = oh * p.S + i * p.D - p.P;
          const w = ow * p.S + j * p.D - p.P;
          const inside = h >= 0 && h < p.H && w >= 0 && w < p.W;
          sources.push(inside ? [c, h, w] : null);
          values.push(inside ? x[n][c][h][w] : 0);
        }
      }
    }
    const summary =
      `X_col is ${R} × ${M}; column ${column} copies window (oh, ow) = (${oh}, ${ow}) ` +
      `of image n = ${n}, all ${p.C} channel${p.C === 1 ? "" : "s"}`;
    const seed = model.get("seed") ?? 0;
    const corner = model.get("corner") ?? [];
    return { OH, OW, column, n, oh, ow, sources, values, seed, corner, summary };
  },

  extraControls(ui) {
    stepButtons(ui, "col", "column");
  },

  draw(view, p, result, ui) {
    const x = ui.model.get("x");
    const shape = shapeOf(x);
    const sane =
      [p.N, p.C, p.H, p.W, p.KH, p.KW, p.S, p.D].every((v) => Number.isInteger(v) && v >= 1) &&
      Number.isInteger(p.P) &&
      p.P >= 0;
    const fits = sane && p.N <= shape[0] && p.C <= shape[1] && p.H <= shape[2] && p.W <= shape[3];
    const formulas = h("div", { class: "cx-formula" });
    if (sane) {
      formulas.append(
        h("div", { text: formula(p.H, p.KH, p, ["H", "KH"]) }),
        h("div", { text: formula(p.W, p.KW, p, ["W", "KW"]) }),
      );
    }
    if (result) {
      const { OH, OW, column, n, oh, ow } = result;
      const R = p.C * p.KH * p.KW;
      const M = p.N * OH * OW;
      ui.inputs.col.shown.textContent = String(column);
      formulas.append(
        h("div", {
          text:
            `X_col: (C·KH·KW) × (OH·OW·N) = (${p.C}·${p.KH}·${p.KW}) × ` +
            `(${OH}·${OW}·${p.N}) = ${R} × ${M}`,
        }),
        h("div", {
          text:
            `column ${column} = (oh·OW + ow)·N + n = (${oh}·${OW} + ${ow})·${p.N} + ${n}; ` +
            `its window starts at padded row oh·S = ${oh * p.S}, column ow·S = ${ow * p.S}`,
        }),
      );
      const parts = range(p.C).map((c) => {
        const kk = p.KH * p.KW;
        return `c=${c}: ${result.values.slice(c * kk, (c + 1) * kk).map(fmt).join(" ")}`;
      });
      formulas.append(h("div", { text: `X_col[:, ${column}] = ${parts.join(" | ")}` }));
    }
    view.append(formulas);
    const figs = h("div", { class: "cx-figs" });
    view.append(figs);
    if (fits) {
      let sel = null;
      if (result) {
        const taps = [];
        for (let i = 0; i < p.KH; i++) {
          for (let j = 0; j < p.KW; j++) {
            taps.push([result.oh * p.S + i * p.D, result.ow * p.S + j * p.D]);
          }
        }
        sel = {
          n: result.n,
          taps,
          top: result.oh * p.S,
          left: result.ow * p.S,
          spanH: p.D * (p.KH - 1) + 1,
          spanW: p.D * (p.KW - 1) + 1,
        };
      }
      figs.append(drawInputs(p, x, sel));
    }
    if (result) {
      figs.append(drawPatch(p, result));
      const L = layoutOf(p, result.OH, result.OW);
      const mat = h("div", { class: "cx-figs" }, drawMatrix(p, x, result, L, ui));
      view.append(mat);
    }
    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML =
      '<span><i class="cx-swatch cx-im-swatch-pad"></i>padding: a 0 copied into X_col</span> ' +
      '<span><i class="cx-swatch cx-im-swatch-cur"></i>the selected column</span> ' +
      "<span>and the pixels it copies (outlined)</span> " +
      "<span>thick lines: channels (rows),</span> <span>output rows (columns)</span> " +
      "<span>dashed: windows</span> <span>click a column of X_col to select it</span>";
    view.append(legend);
  },
};

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
