// Kernels of the whole-model integer plan (src/compress/packed/integer-plan.ts), which keeps
// activations in this module's memory from the first layer to the last: max pooling on float
// NHWC maps (the convolutions and GEMMs are kernels.ts's). Pointers are byte offsets.

/**
 * Max pooling of float NHWC `x` ([batch, h, w, c]) with a ph x pw window, strides sh/sw and
 * top/left padding (padded cells never win, as in tfjs) into `out` ([batch, oh, ow, c]).
 */
export function maxPool2d(
  x: i32,
  batch: i32,
  h: i32,
  w: i32,
  c: i32,
  ph: i32,
  pw: i32,
  sh: i32,
  sw: i32,
  padTop: i32,
  padLeft: i32,
  oh: i32,
  ow: i32,
  out: i32,
): void {
  const c4 = c & ~3;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(oy * sh - padTop, 0);
      const y1 = min(oy * sh - padTop + ph, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * sw - padLeft, 0);
        const x1 = min(ox * sw - padLeft + pw, w);
        const o = out + ((b * oh + oy) * ow + ox) * c * 4;
        const first = x + ((b * h + y0) * w + x0) * c * 4;
        memory.copy(o, first, c * 4);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            if (iy == y0 && ix == x0) continue;
            const s = x + ((b * h + iy) * w + ix) * c * 4;
            let ch = 0;
            for (; ch < c4; ch += 4)
              v128.store(o + ch * 4, f32x4.max(v128.load(o + ch * 4), v128.load(s + ch * 4)));
            for (; ch < c; ch++)
              store<f32>(o + ch * 4, max<f32>(load<f32>(o + ch * 4), load<f32>(s + ch * 4)));
          }
        }
      }
    }
  }
}
