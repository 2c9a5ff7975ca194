// padding_stride.js: chapter 1's explorer. Every window position of a KH x KW kernel (dilation
// D) sliding with stride S over an H x W input padded by P, the output grid it fills, and the
// output-size formula with the numbers in. In floor mode (the frameworks' convention) the rows
// and columns no window reads are crossed out: real pixels in red (they are dropped), padding
// in grey (harmless: the padding is only asymmetric).

const CELL = 24;

function windowCount(p) {
  // Positions along each axis that fit, as floor mode counts them (null if none fit).
  try {
    return convOutputShape(p.H, p.W, p.KH, p.KW, p.S, p.P, p.D, true);
  } catch (e) {
    return null;
  }
}

function formula(size, kernel, p, letters, floor) {
  const [n, k] = letters;
  const kd = p.D === 1 ? `${k}` : `D·(${k} − 1) − 1`;
  const kt = p.D === 1 ? `${kernel}` : `${p.D}·(${kernel} − 1) − 1`;
  const open = floor ? "floor(" : "";
  const close = floor ? ")" : "";
  const room = size + 2 * p.P - (p.D * (kernel - 1) + 1);
  let value;
  if (room < 0) value = `${room}/${p.S} + 1: the window does not fit`;
  else if (floor) value = String(Math.floor(room / p.S) + 1);
  else value = room % p.S ? `${pyG(room / p.S + 1)}, not an integer` : String(room / p.S + 1);
  return (
    `O${n} = ${open}(${n} + 2P − ${kd})/S${close} + 1 = ` +
    `${open}(${size} + 2·${p.P} − ${kt})/${p.S}${close} + 1 = ${value}`
  );
}

const spec = {
  name: "padding-stride",
  title: "Padding, stride and dilation: where the windows go",
  params: [
    ...layerParams({ H: [1, 12], W: [1, 12], KH: [1, 6], KW: [1, 6], S: [1, 4], P: [0, 3], D: [1, 3], floor: true }),
    { name: "step", label: "window", min: 0, max: 0, help: "which window is outlined" },
  ],
  invalidState: { uncovered_rows: null, uncovered_cols: null, window: null },

  compute(p, model, ui) {
    const [OH, OW] = convOutputShape(p.H, p.W, p.KH, p.KW, p.S, p.P, p.D, p.floor);
    const n = OH * OW;
    const shown = Math.max(0, Math.min(p.step, n - 1));
    ui.inputs.step.input.max = n - 1;
    const summary =
      `output ${OH} × ${OW}: ${n} window position${n === 1 ? "" : "s"}; ` +
      `window ${shown} (row ${Math.floor(shown / OW)}, column ${shown % OW}) outlined`;
    // A pixel is read when a tap lands on its row and on its column: if no real row is read
    // at all, no pixel of any column is read either (and the other way round).
    let rows = unreadIndices(p.H, p.KH, p.S, p.P, p.D, OH);
    let cols = unreadIndices(p.W, p.KW, p.S, p.P, p.D, OW);
    if (rows.length === p.H || cols.length === p.W) [rows, cols] = [range(p.H), range(p.W)];
    return {
      OH,
      OW,
      uncovered_rows: rows,
      uncovered_cols: cols,
      window: [Math.floor(shown / OW), shown % OW],
      summary,
    };
  },

  extraControls(ui) {
    stepButtons(ui, "step", "window");
  },

  draw(view, p, result) {
    const formulas = h("div", { class: "cx-formula" });
    const H = Math.max(1, p.H | 0);
    const W = Math.max(1, p.W | 0);
    const P = Math.max(0, p.P | 0);
    const ok = Number.isInteger(p.S) && p.S >= 1 && Number.isInteger(p.D) && p.D >= 1;
    if (ok && Number.isInteger(p.KH) && p.KH >= 1 && Number.isInteger(p.KW) && p.KW >= 1) {
      formulas.append(
        h("div", { text: formula(H, p.KH, p, ["H", "KH"], p.floor) }),
        h("div", { text: formula(W, p.KW, p, ["W", "KW"], p.floor) }),
      );
    }
    const figs = h("div", { class: "cx-figs" });
    view.append(formulas, figs);

    // Padded input, the windows that fit (floor positions), the outlined window, crosses.
    const hp = H + 2 * P;
    const wp = W + 2 * P;
    const svg = newSvg(wp * CELL + 2, hp * CELL + 22, `padded input ${hp} by ${wp}`);
    label(svg, 1, 9, `padded input ${hp}×${wp}`);
    const g = s("g", { transform: "translate(1, 20)" }, svg);
    const fit = ok ? windowCount(p) : null;
    const rowsRead = new Set();
    const colsRead = new Set();
    let cur = null;
    if (fit) {
      const [fh, fw] = fit;
      for (let o = 0; o < fh; o++) for (let k = 0; k < p.KH; k++) rowsRead.add(o * p.S + k * p.D);
      for (let o = 0; o < fw; o++) for (let k = 0; k < p.KW; k++) colsRead.add(o * p.S + k * p.D);
      if (result) cur = result.window;
    }
    const taps = new Set();
    if (cur) {
      for (let i = 0; i < p.KH; i++) {
        for (let j = 0; j < p.KW; j++) taps.add(`${cur[0] * p.S + i * p.D},${cur[1] * p.S + j * p.D}`);
      }
    }
    for (let r = 0; r < hp; r++) {
      for (let c = 0; c < wp; c++) {
        const pad = r < P || c < P || r >= P + H || c >= P + W;
        let cls = pad ? "cx-pad" : "cx-input";
        if (taps.has(`${r},${c}`)) cls += " cx-current";
        cell(g, c * CELL, r * CELL, CELL, cls, null, svg.hatch);
        if (fit && (!rowsRead.has(r) || !colsRead.has(c))) {
          cross(g, c * CELL, r * CELL, CELL, pad ? "cx-unread-pad" : "cx-dropped");
        }
      }
    }
    if (fit) {
      const [fh, fw] = fit;
      for (let a = 0; a < fh; a++) {
        for (let b = 0; b < fw; b++) {
          s("circle", { cx: b * p.S * CELL + 5, cy: a * p.S * CELL + 5, r: 2.5, class: "cx-dot" }, g);
        }
      }
    }
    if (cur) {
      const spanH = p.D * (p.KH - 1) + 1;
      const spanW = p.D * (p.KW - 1) + 1;
      s(
        "rect",
        {
          x: cur[1] * p.S * CELL,
          y: cur[0] * p.S * CELL,
          width: spanW * CELL,
          height: spanH * CELL,
          class: "cx-frame",
        },
        g,
      );
    }
    figs.append(svg);

    if (result) {
      const { OH, OW } = result;
      const out = newSvg(OW * CELL + 2, OH * CELL + 22, `output ${OH} by ${OW}`);
      label(out, 1, 9, `output ${OH}×${OW}`);
      const go = s("g", { transform: "translate(1, 20)" }, out);
      const shown = result.window[0] * OW + result.window[1];
      for (let a = 0; a < OH; a++) {
        for (let b = 0; b < OW; b++) {
          const k = a * OW + b;
          const cls = k === shown ? "cx-output cx-current" : k < shown ? "cx-output" : "cx-empty";
          cell(go, b * CELL, a * CELL, CELL, cls, k === shown ? "●" : null);
        }
      }
      figs.append(out);
    }
    const legend = h("div", { class: "cx-legend" });
    legend.innerHTML =
      '<span><i class="cx-swatch" style="background:var(--cx-pad)"></i>padding</span>' +
      '<span><i class="cx-swatch" style="background:var(--cx-current-fill);border-color:var(--cx-current)"></i>kernel taps of the outlined window</span>' +
      "<span>• window corners</span>" +
      (fit && (rowsRead.size < hp || colsRead.size < wp)
        ? '<span style="color:var(--cx-dropped)">✕ real pixel no window reads (dropped)</span><span>✕ grey: padding no window reads</span>'
        : "");
    view.append(legend);
  },
};

export default {
  render({ model, el }) {
    return explorer(spec, { model, el });
  },
};
