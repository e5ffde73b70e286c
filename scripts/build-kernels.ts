// Builds Fontloom's SIMD kernels for the wasm backend: writes the WebAssembly text
// (src-main/engine/ops/kernels/simd.wat) from the constants it shares with the TypeScript kernels,
// and assembles it twice with wabt: simd.wasm imports the plain backend's memory, simd-shared.wasm
// the threaded backend's shared one. `npm run build:kernels`; test/simd-kernels checks that the
// committed files are what this script builds.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERF_FIT } from '../src-main/engine/ops/gelu.ts';

const OUT = fileURLToPath(new URL('../src-main/engine/ops/kernels/', import.meta.url));

const splat = (v: number) => `(v128.const f32x4 ${v} ${v} ${v} ${v})`;

/** c₀ + s·(c₁ + s·(…)) over the f32x4 local $s. */
function horner(coeffs: readonly number[]): string {
  let expr = splat(coeffs[coeffs.length - 1]);
  for (let k = coeffs.length - 2; k >= 0; k--) expr = `(f32x4.add ${splat(coeffs[k])} (f32x4.mul (local.get $s) ${expr}))`;
  return expr;
}

/** Coefficients of d/ds of a polynomial in s. */
const derivative = (coeffs: readonly number[]) => coeffs.slice(1).map((c, i) => (i + 1) * c);

/**
 * Runs `body` for every 4 floats of the first n − n mod 4 (the local $n), moving each named byte
 * pointer on by 16 bytes a step; the first pointer bounds the loop (the local $end is declared).
 */
function everyFourFloats(pointers: string[], body: string): string {
  const first = pointers[0];
  return `(local.set $end (i32.add (local.get $${first}) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $${first}) (local.get $end)))
        ${body}
        ${pointers.map((p) => `(local.set $${p} (i32.add (local.get $${p}) (i32.const 16)))`).join('\n        ')}
        (br $next)))`;
}

const MEMORY_PLAIN = '(import "env" "memory" (memory 1))';
const MEMORY_SHARED = '(import "env" "memory" (memory 1 65536 shared))';

export function kernelText(): string {
  const { clamp, p, q } = ERF_FIT;
  // v = x[i…i+3], a = v clamped, s = a², and P(s), Q(s): what both GELU kernels start from.
  const rational = `(local.set $v (v128.load (local.get $x)))
        (local.set $a (f32x4.max (f32x4.min (local.get $v) ${splat(clamp)}) ${splat(-clamp)}))
        (local.set $s (f32x4.mul (local.get $a) (local.get $a)))
        (local.set $p ${horner(p)})
        (local.set $q ${horner(q)})`;
  return `;; Fontloom's SIMD kernels over the wasm backend's heap (f32x4: 128-bit wasm SIMD, four floats a step).
;; Written by scripts/build-kernels.ts from the constants of src-main/engine/ops/gelu.ts: edit those, not this.
;; GELU as x·Φ(x) = ½x(1 + E(x)), E(x) = erf(x/√2) ≈ x·P(x²)/Q(x²) for |x| ≤ ${clamp} and ±1 beyond (the
;; same rational fit as the TypeScript kernel, evaluated here in float32).
(module
  ${MEMORY_PLAIN}
  ;; gelu(x, y, n): y[i] = GELU(x[i]) for i < n − n mod 4; the caller does the last few.
  (func (export "gelu") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128) (local $a v128) (local $s v128) (local $p v128) (local $q v128)
    ${everyFourFloats(['x', 'y'], `${rational}
        (v128.store (local.get $y)
          (f32x4.mul (f32x4.mul (local.get $v) ${splat(0.5)})
            (f32x4.add ${splat(1)} (f32x4.div (f32x4.mul (local.get $a) (local.get $p)) (local.get $q)))))`)})
  ;; gelu_grad(x, dy, dx, n): dx = dy·(½(1 + E) + ½x·E′) with E′ = (P + 2s·(P′ − Q′·P/Q))/Q, and
  ;; E′ = 0 beyond the clamp; for i < n − n mod 4, the caller does the last few.
  (func (export "gelu_grad") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32)
    (local $end i32) (local $v v128) (local $a v128) (local $s v128) (local $p v128) (local $q v128)
    (local $dp v128) (local $dq v128) (local $r v128) (local $pr v128) (local $de v128)
    ${everyFourFloats(['x', 'dy', 'dx'], `${rational}
        (local.set $dp ${horner(derivative(p))})
        (local.set $dq ${horner(derivative(q))})
        (local.set $r (f32x4.div ${splat(1)} (local.get $q)))
        (local.set $pr (f32x4.mul (local.get $p) (local.get $r)))
        (local.set $de
          (v128.and
            (f32x4.mul (local.get $r)
              (f32x4.add (local.get $p)
                (f32x4.mul (f32x4.mul ${splat(2)} (local.get $s))
                  (f32x4.sub (local.get $dp) (f32x4.mul (local.get $pr) (local.get $dq))))))
            (f32x4.lt (f32x4.abs (local.get $v)) ${splat(clamp)})))
        (v128.store (local.get $dx)
          (f32x4.mul (v128.load (local.get $dy))
            (f32x4.add
              (f32x4.mul ${splat(0.5)} (f32x4.add ${splat(1)} (f32x4.mul (local.get $a) (local.get $pr))))
              (f32x4.mul (f32x4.mul ${splat(0.5)} (local.get $v)) (local.get $de)))))`)})
${groupNormKernels()}
${shiftedPlanesKernel()}
${batchMatMulKernel()}
${transposeKernel()}
${gemmKernel()}
${conv3Kernel()}
${winogradKernels()}
${gemmTnKernel()}
)
`;
}

/** i8x16.shuffle picking 32-bit lanes of a (0–3) and b (4–7). */
const lanes = (...picks: number[]) => `i8x16.shuffle ${picks.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]).join(' ')}`;

/** `for ($local = 0; $local < limit; $local += step) body` as a labelled block and loop (unsigned). */
function forLoop(local: string, limit: string, step: number, body: string): string {
  return `(local.set $${local} (i32.const 0))
    (block $${local}_done
      (loop $${local}_next
        (br_if $${local}_done (i32.ge_u (local.get $${local}) ${limit}))
        ${body}
        (local.set $${local} (i32.add (local.get $${local}) (i32.const ${step})))
        (br $${local}_next)))`;
}

/** Moves the byte pointer $p on by rows·cols floats (the next matrix of a batch). */
const nextMatrix = (p: string, rows: string, cols: string) =>
  `(local.set $${p} (i32.add (local.get $${p}) (i32.shl (i32.mul (local.get $${rows}) (local.get $${cols})) (i32.const 2))))`;

/** Swapping a matrix's two axes (transpose.ts). */
function transposeKernel(): string {
  const row = (r: number) => `(v128.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const ${r})) (local.get $cols)) (local.get $j)) (i32.const 2))))`;
  const store = (c: number, v: string) =>
    `(v128.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (i32.const ${c})) (local.get $rows)) (local.get $i)) (i32.const 2))) ${v})`;
  const block = `(local.set $r0 ${row(0)})
                (local.set $r1 ${row(1)})
                (local.set $r2 ${row(2)})
                (local.set $r3 ${row(3)})
                (local.set $t0 (${lanes(0, 4, 1, 5)} (local.get $r0) (local.get $r1)))
                (local.set $t1 (${lanes(2, 6, 3, 7)} (local.get $r0) (local.get $r1)))
                (local.set $t2 (${lanes(0, 4, 1, 5)} (local.get $r2) (local.get $r3)))
                (local.set $t3 (${lanes(2, 6, 3, 7)} (local.get $r2) (local.get $r3)))
                ${store(0, `(${lanes(0, 1, 4, 5)} (local.get $t0) (local.get $t2))`)}
                ${store(1, `(${lanes(2, 3, 6, 7)} (local.get $t0) (local.get $t2))`)}
                ${store(2, `(${lanes(0, 1, 4, 5)} (local.get $t1) (local.get $t3))`)}
                ${store(3, `(${lanes(2, 3, 6, 7)} (local.get $t1) (local.get $t3))`)}`;
  return `
  ;; transpose(src, dst, batch, rows, cols): dst[t, c, r] = src[t, r, c], rows and cols multiples of 4;
  ;; 4×4 blocks turned in registers.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $batch i32) (param $rows i32) (param $cols i32)
    (local $t i32) (local $i i32) (local $j i32) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ${forLoop('t', '(local.get $batch)', 1, `${forLoop('i', '(local.get $rows)', 4, forLoop('j', '(local.get $cols)', 4, block))}
        ${nextMatrix('src', 'rows', 'cols')}
        ${nextMatrix('dst', 'rows', 'cols')}`)})`;
}

/** The accumulator registers of a block of 4 rows × 8 columns: row r, columns 4h…4h + 3. */
const BLOCK_ROWS = [0, 1, 2, 3];
const blockAcc = (r: number, h: number) => `$c${r}${h}`;

/**
 * A block's inner loop: for kk < k, c[r] += a[r·stride + kk]·b[kk, 0…7] for r < 4, a's row 0 at
 * the byte address $arow and b's row at $bcol, which moves on by `cols` floats a step.
 */
function blockProducts(k: string, stride: string, cols: string): string {
  return forLoop('kk', k, 1, `(local.set $b0 (v128.load (local.get $bcol)))
                    (local.set $b1 (v128.load offset=16 (local.get $bcol)))
                    ${BLOCK_ROWS.map(
                      (r) => `(local.set $av (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul ${stride} (i32.const ${r})) (local.get $kk)) (i32.const 2)))))
                    (local.set ${blockAcc(r, 0)} (f32x4.add (local.get ${blockAcc(r, 0)}) (f32x4.mul (local.get $av) (local.get $b0))))
                    (local.set ${blockAcc(r, 1)} (f32x4.add (local.get ${blockAcc(r, 1)}) (f32x4.mul (local.get $av) (local.get $b1))))`,
                    ).join('\n                    ')}
                    (local.set $bcol (i32.add (local.get $bcol) (i32.shl ${cols} (i32.const 2))))`);
}

/** A block's start: c from `at(r)` (row r's byte address) where $accumulate is set, else zeros. */
function blockStart(at: (r: number) => string): string {
  return `(if (local.get $accumulate)
                  (then ${BLOCK_ROWS.map((r) => `(local.set ${blockAcc(r, 0)} (v128.load ${at(r)})) (local.set ${blockAcc(r, 1)} (v128.load offset=16 ${at(r)}))`).join('\n                    ')})
                  (else ${BLOCK_ROWS.map((r) => `(local.set ${blockAcc(r, 0)} (v128.const i32x4 0 0 0 0)) (local.set ${blockAcc(r, 1)} (v128.const i32x4 0 0 0 0))`).join('\n                    ')}))`;
}

/** A block's end: c to `at(r)`. */
const blockStore = (at: (r: number) => string) =>
  BLOCK_ROWS.map((r) => `(v128.store ${at(r)} (local.get ${blockAcc(r, 0)}))\n                (v128.store offset=16 ${at(r)} (local.get ${blockAcc(r, 1)}))`).join('\n                ');

/** One matrix product for the filter gradient's GEMM (conv.ts). */
function gemmKernel(): string {
  const [rows, acc] = [BLOCK_ROWS, blockAcc];
  const cAt = (r: number) => `(i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const ${r})) (local.get $n)) (local.get $j)) (i32.const 2)))`;
  const tile = `${blockStart(cAt)}
                (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $lda)) (i32.const 2))))
                (local.set $bcol (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
                ${blockProducts('(local.get $k)', '(local.get $lda)', '(local.get $n)')}
                ${blockStore(cAt)}`;
  return `
  ;; gemm(a, b, c, m, k, n, lda, accumulate): c (+)= a·b for a [m, k] with rows lda floats apart,
  ;; b [k, n], m a multiple of 4 and n of 8: blocks of 4 rows × 8 columns in eight registers over
  ;; the k given (b is read in place, never packed; the caller cuts a long k into slices whose
  ;; part of b stays in cache, adding each slice's product to c).
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $lda i32) (param $accumulate i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $arow i32) (local $bcol i32) (local $b0 v128) (local $b1 v128) (local $av v128)
    ${rows.map((r) => `(local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`).join(' ')}
    ${forLoop('i', '(local.get $m)', 4, forLoop('j', '(local.get $n)', 8, tile))})`;
}

/** A 3×3 stride-1 convolution over a zero-padded image, every tap in registers (conv.ts). */
function conv3Kernel(): string {
  const [rows, acc] = [BLOCK_ROWS, blockAcc];
  const oAt = (r: number) => `(i32.add (local.get $o) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const ${r})) (local.get $co)) (local.get $j)) (i32.const 2)))`;
  // Tap t = (kh, kw) reads the padded pixels kh rows down and kw pixels on: kh·wp + kw pixels on.
  const tap = (t: number) => `(local.set $arow (i32.add (local.get $p) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const ${t % 3})) (local.get $ci)) (i32.const 2))))
                (local.set $arow (i32.add (local.get $arow) (i32.mul (local.get $rowbytes) (i32.const ${Math.floor(t / 3)}))))
                ${blockProducts('(local.get $ci)', '(local.get $ci)', '(local.get $co)')}`;
  const tile = `${rows.map((r) => `(local.set ${acc(r, 0)} (v128.const i32x4 0 0 0 0)) (local.set ${acc(r, 1)} (v128.const i32x4 0 0 0 0))`).join('\n                ')}
                (local.set $bcol (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
                ${[0, 1, 2, 3, 4, 5, 6, 7, 8].map(tap).join('\n                ')}
                ${blockStore(oAt)}`;
  return `
  ;; conv3(p, w, o, m, ci, co, wp): one image's 3×3 stride-1 convolution. p holds the image zero-padded
  ;; to rows of wp = W + 2 pixels (one padding row above, two below) of ci floats; w is [9, ci, co]; o
  ;; gets m rows (a multiple of 4) of co floats (a multiple of 8), row i for the output pixel at
  ;; (i / wp, i mod wp) (the last two of each wp are spare): o[i] = Σ_t p[i + (t / 3)·wp + t mod 3]·w[t].
  ;; Blocks of 4 rows × 8 columns stay in registers over all nine taps.
  (func (export "conv3") (param $p i32) (param $w i32) (param $o i32) (param $m i32) (param $ci i32) (param $co i32) (param $wp i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $arow i32) (local $bcol i32) (local $rowbytes i32)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    ${rows.map((r) => `(local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`).join(' ')}
    (local.set $rowbytes (i32.shl (i32.mul (local.get $wp) (local.get $ci)) (i32.const 2)))
    ${forLoop('i', '(local.get $m)', 4, forLoop('j', '(local.get $co)', 8, tile))})`;
}

/**
 * Winograd F(2×2, 3×3) (conv.ts): each 2×2 block of a 3×3 convolution's output from a 4×4 tile of
 * the padded image as Aᵀ·[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A: 16 products per channel pair where direct
 * convolution takes 36. These two kernels are the transforms either side of 16 GEMMs (`gemm`).
 */
function winogradKernels(): string {
  const ids = [0, 1, 2, 3];
  const d = (r: number, c: number) => `$d${r}${c}`;
  const t = (r: number, c: number) => `$t${r}${c}`;
  const locals = (name: (r: number, c: number) => string) =>
    ids.flatMap((r) => ids.map((c) => `(local ${name(r, c)} v128)`)).join(' ');
  const get = (name: string) => `(local.get ${name})`;
  const sub = (a: string, b: string) => `(f32x4.sub ${get(a)} ${get(b)})`;
  const add = (a: string, b: string) => `(f32x4.add ${get(a)} ${get(b)})`;
  // Bᵀ·z for z0…z3: z0 − z2, z1 + z2, z2 − z1, z1 − z3.
  const bt = (z: (k: number) => string) => [sub(z(0), z(2)), add(z(1), z(2)), sub(z(2), z(1)), sub(z(1), z(3))];
  const inputTile = `${ids.flatMap((r) => ids.map((c) => `(local.set ${d(r, c)} (v128.load (i32.add (local.get $img) (local.get $o${r}${c}))))`)).join('\n            ')}
            ${ids.flatMap((c) => bt((k) => d(k, c)).map((e, r) => `(local.set ${t(r, c)} ${e})`)).join('\n            ')}
            ${ids.flatMap((r) => bt((k) => t(r, k)).map((e, c) => `(v128.store (i32.add (local.get $mat) (local.get $q${4 * r + c})) ${e})`)).join('\n            ')}`;
  // Aᵀ·z for z0…z3: z0 + z1 + z2, z1 − z2 − z3.
  // Byte offsets within a tile, set once a call: $oRC for pixel (r, c), $qξ for matrix ξ.
  const offsetLocals = `${ids.flatMap((r) => ids.map((c) => `(local $o${r}${c} i32)`)).join(' ')} ${[...Array(16).keys()].map((k) => `(local $q${k} i32)`).join(' ')}`;
  const setOffsets = `${ids.flatMap((r) => ids.map((c) => `(local.set $o${r}${c} (i32.add (i32.mul (local.get $rowbytes) (i32.const ${r})) (i32.mul (local.get $step) (i32.const ${c}))))`)).join('\n    ')}
    ${[...Array(16).keys()].map((k) => `(local.set $q${k} (i32.mul (local.get $plane) (i32.const ${k})))`).join('\n    ')}`;
  const at = (z: (k: number) => string) => [`(f32x4.add ${add(z(0), z(1))} ${get(z(2))})`, `(f32x4.sub ${sub(z(1), z(2))} ${get(z(3))})`];
  const outputTile = `${ids.flatMap((r) => ids.map((c) => `(local.set ${d(r, c)} (v128.load (i32.add (local.get $mat) (local.get $q${4 * r + c}))))`)).join('\n            ')}
            ${ids.flatMap((c) => at((k) => d(k, c)).map((e, i) => `(local.set ${t(i, c)} ${e})`)).join('\n            ')}
            ${[0, 1].flatMap((i) => at((k) => t(i, k)).map((e, j) => `(v128.store (i32.add (local.get $img) (local.get $o${i}${j})) ${e})`)).join('\n            ')}`;
  // G·g·Gᵀ over three values z0…z2: z0, ½(z0 + z1 + z2), ½(z0 − z1 + z2), z2.
  const half = splat(0.5);
  const gz = (z: (k: number) => string) => [get(z(0)), `(f32x4.mul ${half} (f32x4.add ${add(z(0), z(1))} ${get(z(2))}))`, `(f32x4.mul ${half} (f32x4.add ${sub(z(0), z(1))} ${get(z(2))}))`, get(z(2))];
  const g = (a: number, b: number) => `$g${a}${b}`;
  const filterStep = `${[0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => `(local.set ${g(a, b)} (v128.load (i32.add (local.get $w) (i32.mul (local.get $tap) (i32.const ${3 * a + b})))))`)).join('\n        ')}
        ${[0, 1, 2].flatMap((b) => gz((k) => g(k, b)).map((e, i) => `(local.set ${t(i, b)} ${e})`)).join('\n        ')}
        ${ids.flatMap((i) => gz((k) => t(i, k)).map((e, j) => `(v128.store (i32.add (local.get $u) (i32.mul (local.get $tap) (i32.const ${4 * i + j}))) ${e})`)).join('\n        ')}`;
  // Aᵀ's transpose over two values z0, z1 (a 2×2 output gradient block to 4×4): z0, z0 + z1, z0 − z1, −z1.
  const a = (z: (k: number) => string) => [get(z(0)), add(z(0), z(1)), sub(z(0), z(1)), `(f32x4.neg ${get(z(1))})`];
  const outputGradTile = `${[0, 1].flatMap((i) => [0, 1].map((j) => `(local.set ${d(i, j)} (v128.load (i32.add (local.get $img) (local.get $o${i}${j}))))`)).join('\n            ')}
            ${[0, 1].flatMap((j) => a((k) => d(k, j)).map((e, r) => `(local.set ${t(r, j)} ${e})`)).join('\n            ')}
            ${ids.flatMap((r) => a((k) => t(r, k)).map((e, c) => `(v128.store (i32.add (local.get $mat) (local.get $q${4 * r + c})) ${e})`)).join('\n            ')}`;
  // Gᵀ over four values z0…z3 (back to three): z0 + ½(z1 + z2), ½(z1 − z2), ½(z1 + z2) + z3.
  const gt = (z: (k: number) => string) => [
    `(f32x4.add ${get(z(0))} (f32x4.mul ${half} ${add(z(1), z(2))}))`,
    `(f32x4.mul ${half} ${sub(z(1), z(2))})`,
    `(f32x4.add (f32x4.mul ${half} ${add(z(1), z(2))}) ${get(z(3))})`,
  ];
  const filterGradStep = `${ids.flatMap((i) => ids.map((j) => `(local.set ${d(i, j)} (v128.load (i32.add (local.get $u) (i32.mul (local.get $tap) (i32.const ${4 * i + j})))))`)).join('\n        ')}
        ${ids.flatMap((j) => gt((k) => d(k, j)).map((e, r) => `(local.set ${t(r, j)} ${e})`)).join('\n        ')}
        ${[0, 1, 2].flatMap((r) => gt((k) => t(r, k)).map((e, c) => `(v128.store (i32.add (local.get $w) (i32.mul (local.get $tap) (i32.const ${3 * r + c}))) ${e})`)).join('\n        ')}`;
  // The body of a function over every 2×2 tile (ty, tx) of one image and four channels c4 at a time:
  // $img points at the tile's first pixel (image rows of `width` pixels of `channels` floats, tile at
  // pixel (2ty, 2tx)), $mat at the tile's row of the 16 matrices [th·tw, channels], 16 floats apart.
  const tileLoop = (image: string, matrices: string, width: string, channels: string, tile: string) => `
    (local $ty i32) (local $tx i32) (local $c4 i32) (local $img i32) (local $mat i32) (local $step i32) (local $rowbytes i32) (local $plane i32)
    ${locals(d)} ${locals(t)} ${offsetLocals}
    (local.set $step (i32.shl (local.get $${channels}) (i32.const 2)))
    (local.set $rowbytes (i32.mul (local.get $${width}) (local.get $step)))
    (local.set $plane (i32.add (i32.mul (i32.mul (local.get $th) (local.get $tw)) (local.get $step)) (i32.const 64)))
    ${setOffsets}
    ${forLoop('ty', '(local.get $th)', 1, forLoop('tx', '(local.get $tw)', 1, forLoop('c4', `(local.get $${channels})`, 4, `(local.set $mat (i32.add (local.get $${matrices}) (i32.add (i32.mul (local.get $step) (i32.add (i32.mul (local.get $ty) (local.get $tw)) (local.get $tx))) (i32.shl (local.get $c4) (i32.const 2)))))
            (local.set $img (i32.add (local.get $${image}) (i32.add (i32.add (i32.mul (local.get $rowbytes) (i32.shl (local.get $ty) (i32.const 1))) (i32.mul (local.get $step) (i32.shl (local.get $tx) (i32.const 1)))) (i32.shl (local.get $c4) (i32.const 2)))))
            ${tile}`)))}`;
  return `
  ;; winograd_filter_grad(u, w, pairs): the filter gradient w [3, 3, ci, co] = Gᵀ·dU·G from dU [16, ci, co],
  ;; pairs = ci·co a multiple of 4 (winograd_filter's transpose).
  (func (export "winograd_filter_grad") (param $u i32) (param $w i32) (param $pairs i32)
    (local $q i32) (local $tap i32) ${locals(d)} ${locals(t)}
    (local.set $tap (i32.shl (local.get $pairs) (i32.const 2)))
    ${forLoop('q', '(local.get $pairs)', 4, `${filterGradStep}
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $u (i32.add (local.get $u) (i32.const 16)))`)})
  ;; winograd_out_grad(dy, m, th, tw, co, w): winograd_out's transpose: each 2×2 block of the output
  ;; gradient dy [2th, w, co] at pixel (2ty, 2tx) to dM = A·dY·Aᵀ, 16 matrices [th·tw, co] laid out as
  ;; winograd_out reads them (co a multiple of 4).
  (func (export "winograd_out_grad") (param $dy i32) (param $m i32) (param $th i32) (param $tw i32) (param $co i32) (param $w i32)
    ${tileLoop('dy', 'm', 'w', 'co', outputGradTile)})
  ;; winograd_filter(w, u, pairs): U[ξ = 4i + j] = (G·g·Gᵀ)[i, j] for each of the pairs (ci·co, a multiple
  ;; of 4) of w [3, 3, ci, co], into u [16, ci, co].
  (func (export "winograd_filter") (param $w i32) (param $u i32) (param $pairs i32)
    (local $q i32) (local $tap i32) ${[0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => `(local ${g(a, b)} v128)`)).join(' ')} ${locals(t)}
    (local.set $tap (i32.shl (local.get $pairs) (i32.const 2)))
    ${forLoop('q', '(local.get $pairs)', 4, `${filterStep}
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $u (i32.add (local.get $u) (i32.const 16)))`)})
  ;; winograd_in(p, v, th, tw, ci, wp): V[ξ] = Bᵀ·d·B for each 4×4 tile d of one image zero-padded as
  ;; conv3 reads it (rows of wp pixels of ci floats, ci a multiple of 4): tile (ty, tx) starts at padded
  ;; pixel (2ty, 2tx). v gets 16 matrices [th·tw, ci], ξ = 4r + c, tile ty·tw + tx in row order; each
  ;; matrix starts 16 floats after the previous one ends, so that the 16 do not share cache sets.
  (func (export "winograd_in") (param $p i32) (param $v i32) (param $th i32) (param $tw i32) (param $ci i32) (param $wp i32)
    ${tileLoop('p', 'v', 'wp', 'ci', inputTile)})
  ;; winograd_out(m, o, th, tw, co, w): the 2×2 output block Aᵀ·M·A of each tile, from m's 16 matrices
  ;; [th·tw, co] (co a multiple of 4), 16 floats apart as winograd_in leaves them, into o [2th, w, co]
  ;; at pixel (2ty, 2tx).
  (func (export "winograd_out") (param $m i32) (param $o i32) (param $th i32) (param $tw i32) (param $co i32) (param $w i32)
    ${tileLoop('o', 'm', 'w', 'co', outputTile)})`;
}

/** c (+)= aᵀ·b over rows: the 3×3 filter gradients, per tap and per Winograd matrix (conv.ts). */
function gemmTnKernel(): string {
  const [rows, acc] = [BLOCK_ROWS, blockAcc];
  const cAt = (r: number) => `(i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $c0) (i32.const ${r})) (local.get $n)) (local.get $j)) (i32.const 2)))`;
  const tile = `${blockStart(cAt)}
                (local.set $xp (i32.add (local.get $a) (i32.shl (local.get $c0) (i32.const 2))))
                (local.set $dp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
                ${forLoop('i', '(local.get $m)', 1, `(local.set $xv (v128.load (local.get $xp)))
                    (local.set $d0 (v128.load (local.get $dp)))
                    (local.set $d1 (v128.load offset=16 (local.get $dp)))
                    ${rows
                      .map(
                        (r) => `(local.set $av (${lanes(r, r, r, r)} (local.get $xv) (local.get $xv)))
                    (local.set ${acc(r, 0)} (f32x4.add (local.get ${acc(r, 0)}) (f32x4.mul (local.get $av) (local.get $d0))))
                    (local.set ${acc(r, 1)} (f32x4.add (local.get ${acc(r, 1)}) (f32x4.mul (local.get $av) (local.get $d1))))`,
                      )
                      .join('\n                    ')}
                    (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
                    (local.set $dp (i32.add (local.get $dp) (local.get $dstep)))`)}
                ${blockStore(cAt)}`;
  return `
  ;; gemm_tn(a, b, c, m, k, n, accumulate): c (+)= aᵀ·b for a [m, k] and b [m, n], c [k, n]; k a multiple
  ;; of 4, n of 8. Blocks of 4 rows × 8 columns of c stay in registers over all m rows.
  (func (export "gemm_tn") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $accumulate i32)
    (local $c0 i32) (local $j i32) (local $i i32) (local $xp i32) (local $dp i32)
    (local $xstep i32) (local $dstep i32) (local $xv v128) (local $d0 v128) (local $d1 v128) (local $av v128)
    ${rows.map((r) => `(local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`).join(' ')}
    (local.set $xstep (i32.shl (local.get $k) (i32.const 2)))
    (local.set $dstep (i32.shl (local.get $n) (i32.const 2)))
    ${forLoop('c0', '(local.get $k)', 4, forLoop('j', '(local.get $n)', 8, tile))})`;
}

/** Batched matrix products for attention (bmm.ts). */
function batchMatMulKernel(): string {
  const rows = [0, 1, 2, 3];
  const tile = `${rows.map((r) => `(local.set $acc${r} (v128.const i32x4 0 0 0 0))`).join('\n                ')}
                ;; a's row i, b's columns j..j+3, both at kk = 0 (byte addresses).
                (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
                (local.set $bcol (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
                ${forLoop('kk', '(local.get $k)', 1, `(local.set $bv (v128.load (local.get $bcol)))
                    ${rows
                      .map(
                        (r) =>
                          `(local.set $acc${r} (f32x4.add (local.get $acc${r}) (f32x4.mul (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $k) (i32.const ${r})) (local.get $kk)) (i32.const 2)))) (local.get $bv))))`,
                      )
                      .join('\n                    ')}
                    (local.set $bcol (i32.add (local.get $bcol) (i32.shl (local.get $n) (i32.const 2))))`)}
                ${rows
                  .map(
                    (r) =>
                      `(v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const ${r})) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $acc${r}))`,
                  )
                  .join('\n                ')}`;
  return `
  ;; bmm(a, b, c, batch, m, k, n): c[t] = a[t]·b[t] for a [batch, m, k], b [batch, k, n], m and n
  ;; multiples of 4: blocks of 4 rows × 4 columns kept in registers over the whole k.
  (func (export "bmm") (param $a i32) (param $b i32) (param $c i32) (param $batch i32) (param $m i32) (param $k i32) (param $n i32)
    (local $t i32) (local $i i32) (local $j i32) (local $kk i32) (local $arow i32) (local $bcol i32) (local $bv v128)
    ${rows.map((r) => `(local $acc${r} v128)`).join(' ')}
    ${forLoop('t', '(local.get $batch)', 1, `${forLoop('i', '(local.get $m)', 4, forLoop('j', '(local.get $n)', 4, tile))}
        ${nextMatrix('a', 'm', 'k')}
        ${nextMatrix('b', 'k', 'n')}
        ${nextMatrix('c', 'm', 'n')}`)})`;
}

/** The im2col rows of a convolution's filter gradient, from planes (conv.ts). */
function shiftedPlanesKernel(): string {
  const set = (name: string, value: string) => `(local.set $${name} ${value})`;
  const get = (name: string) => `(local.get $${name})`;
  const bytes = (floats: string) => `(i32.shl ${floats} (i32.const 2))`;
  return `
  ;; shifted_planes(src, dst, planes, h, w, dh, dw): for each h×w plane of src, writes the plane
  ;; shifted by (dh, dw) with zeros where it leaves the plane: dst[q, y, x] = src[q, y + dh, x + dw].
  ;; Per plane, one block copy of the shifted floats (dst[i] = src[i + dh·w + dw]), then zeros over
  ;; the rows and columns that came from outside the plane.
  (func (export "shifted_planes") (param $src i32) (param $dst i32) (param $planes i32) (param $h i32) (param $w i32) (param $dh i32) (param $dw i32)
    (local $size i32) (local $shift i32) (local $i0 i32) (local $i1 i32) (local $row0 i32) (local $rows i32)
    (local $col i32) (local $cols i32) (local $q i32) (local $y i32)
    ${set('size', `(i32.mul ${get('h')} ${get('w')})`)}
    ${set('shift', `(i32.add (i32.mul ${get('dh')} ${get('w')}) ${get('dw')})`)}
    ;; dst[i] for i0 ≤ i < i1 reads inside the plane's floats.
    ${set('i0', `(select (i32.sub (i32.const 0) ${get('shift')}) (i32.const 0) (i32.lt_s ${get('shift')} (i32.const 0)))`)}
    ${set('i1', `(select (i32.sub ${get('size')} ${get('shift')}) ${get('size')} (i32.gt_s ${get('shift')} (i32.const 0)))`)}
    ${set('i0', `(select ${get('size')} ${get('i0')} (i32.gt_s ${get('i0')} ${get('size')}))`)}
    ${set('i1', `(select ${get('i0')} ${get('i1')} (i32.lt_s ${get('i1')} ${get('i0')}))`)}
    ;; Rows row0 … row0 + rows − 1 and columns col … col + cols − 1 come from outside.
    ${set('rows', `(select ${get('dh')} (i32.sub (i32.const 0) ${get('dh')}) (i32.gt_s ${get('dh')} (i32.const 0)))`)}
    ${set('rows', `(select ${get('h')} ${get('rows')} (i32.gt_s ${get('rows')} ${get('h')}))`)}
    ${set('row0', `(select (i32.sub ${get('h')} ${get('rows')}) (i32.const 0) (i32.gt_s ${get('dh')} (i32.const 0)))`)}
    ${set('cols', `(select ${get('dw')} (i32.sub (i32.const 0) ${get('dw')}) (i32.gt_s ${get('dw')} (i32.const 0)))`)}
    ${set('cols', `(select ${get('w')} ${get('cols')} (i32.gt_s ${get('cols')} ${get('w')}))`)}
    ${set('col', `(select (i32.sub ${get('w')} ${get('cols')}) (i32.const 0) (i32.gt_s ${get('dw')} (i32.const 0)))`)}
    (block $planes_done
      (loop $each_plane
        (br_if $planes_done (i32.ge_u ${get('q')} ${get('planes')}))
        (memory.copy (i32.add ${get('dst')} ${bytes(get('i0'))}) (i32.add ${get('src')} ${bytes(`(i32.add ${get('i0')} ${get('shift')})`)}) ${bytes(`(i32.sub ${get('i1')} ${get('i0')})`)})
        (memory.fill ${get('dst')} (i32.const 0) ${bytes(get('i0'))})
        (memory.fill (i32.add ${get('dst')} ${bytes(get('i1'))}) (i32.const 0) ${bytes(`(i32.sub ${get('size')} ${get('i1')})`)})
        (memory.fill (i32.add ${get('dst')} ${bytes(`(i32.mul ${get('row0')} ${get('w')})`)}) (i32.const 0) ${bytes(`(i32.mul ${get('rows')} ${get('w')})`)})
        (if (i32.gt_s ${get('cols')} (i32.const 0))
          (then
            ${set('y', '(i32.const 0)')}
            (block $rows_done
              (loop $each_row
                (br_if $rows_done (i32.ge_s ${get('y')} ${get('h')}))
                (memory.fill (i32.add ${get('dst')} ${bytes(`(i32.add (i32.mul ${get('y')} ${get('w')}) ${get('col')})`)}) (i32.const 0) ${bytes(get('cols'))})
                ${set('y', `(i32.add ${get('y')} (i32.const 1))`)}
                (br $each_row)))))
        ${set('src', `(i32.add ${get('src')} ${bytes(get('size'))})`)}
        ${set('dst', `(i32.add ${get('dst')} ${bytes(get('size'))})`)}
        ${set('q', `(i32.add ${get('q')} (i32.const 1))`)}
        (br $each_plane))))`;
}

/** Promotes an f32x4 to two f64x2 and adds all four lanes into the f64x2 local $acc. */
const addPromoted = (v: string) =>
  `(local.set $acc (f64x2.add (local.get $acc) (f64x2.add (f64x2.promote_low_f32x4 ${v})
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v})))))`;

/**
 * A loop over `pixels` pixels of `c` channels (c a multiple of 4), four channels a step: `body`
 * sees $k, the byte offset of the four channels within a pixel, and advances nothing itself;
 * the pointers named in `advance` move 16 bytes a step.
 */
function pixelChannelLoop(body: string, advance: string[]): string {
  return `(local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $pixels_done
      (loop $pixel
        (br_if $pixels_done (i32.eqz (local.get $pixels)))
        (local.set $k (i32.const 0))
        (block $channels_done
          (loop $channel
            (br_if $channels_done (i32.ge_u (local.get $k) (local.get $cb)))
            ${body}
            ${advance.map((p) => `(local.set ${p} (i32.add (local.get ${p}) (i32.const 16)))`).join('\n            ')}
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $channel)))
        (local.set $pixels (i32.sub (local.get $pixels) (i32.const 1)))
        (br $pixel)))`;
}

/** GroupNorm(1, C) pieces for groupnorm.ts, for C a multiple of 4; sums are taken in float64. */
function groupNormKernels(): string {
  return `
  ;; sum(p, n) → Σ p[i] in float64, n a multiple of 4.
  (func (export "sum") (param $p i32) (param $n i32) (result f64)
    (local $end i32) (local $acc v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ${addPromoted('(v128.load (local.get $p))')}
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next)))
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
  ;; sum_sq_dev(p, n, mean) → Σ (p[i] − mean)² in float64, n a multiple of 4.
  (func (export "sum_sq_dev") (param $p i32) (param $n i32) (param $mean f32) (result f64)
    (local $end i32) (local $acc v128) (local $d v128) (local $m v128)
    (local.set $m (f32x4.splat (local.get $mean)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $d (f32x4.sub (v128.load (local.get $p)) (local.get $m)))
        (local.set $acc (f64x2.add (local.get $acc)
          (f64x2.add
            (f64x2.mul (f64x2.promote_low_f32x4 (local.get $d)) (f64x2.promote_low_f32x4 (local.get $d)))
            (f64x2.mul
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next)))
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
  ;; scale_shift(x, y, coef, pixels, c): y = x·coef[ch] + coef[c + ch], ch the channel.
  (func (export "scale_shift") (param $x i32) (param $y i32) (param $coef i32) (param $pixels i32) (param $c i32)
    (local $cb i32) (local $k i32)
    ${pixelChannelLoop(`(v128.store (local.get $y)
              (f32x4.add
                (f32x4.mul (v128.load (local.get $x)) (v128.load (i32.add (local.get $coef) (local.get $k))))
                (v128.load (i32.add (i32.add (local.get $coef) (local.get $cb)) (local.get $k)))))`, ['$x', '$y'])})
  ;; channel_sums(x, dy, mean, r, pixels, c, out): out[ch] += Σ dy·(x − mean)·r, out[c + ch] += Σ dy.
  (func (export "channel_sums") (param $x i32) (param $dy i32) (param $mean f32) (param $r f32) (param $pixels i32) (param $c i32) (param $out i32)
    (local $cb i32) (local $k i32) (local $m v128) (local $rr v128) (local $d v128) (local $at i32)
    (local.set $m (f32x4.splat (local.get $mean)))
    (local.set $rr (f32x4.splat (local.get $r)))
    ${pixelChannelLoop(`(local.set $d (v128.load (local.get $dy)))
            (local.set $at (i32.add (local.get $out) (local.get $k)))
            (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at))
              (f32x4.mul (local.get $d) (f32x4.mul (f32x4.sub (v128.load (local.get $x)) (local.get $m)) (local.get $rr)))))
            (local.set $at (i32.add (local.get $at) (local.get $cb)))
            (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (local.get $d)))`, ['$x', '$dy'])})
  ;; norm_grad(x, dy, dx, coef, k2, k3, pixels, c): dx = coef[ch]·dy + k2·x + k3.
  (func (export "norm_grad") (param $x i32) (param $dy i32) (param $dx i32) (param $coef i32) (param $k2 f32) (param $k3 f32) (param $pixels i32) (param $c i32)
    (local $cb i32) (local $k i32) (local $a v128) (local $b v128)
    (local.set $a (f32x4.splat (local.get $k2)))
    (local.set $b (f32x4.splat (local.get $k3)))
    ${pixelChannelLoop(`(v128.store (local.get $dx)
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $coef) (local.get $k))) (v128.load (local.get $dy)))
                (f32x4.add (f32x4.mul (local.get $a) (v128.load (local.get $x))) (local.get $b))))`, ['$x', '$dy', '$dx'])})`;
}

export async function assemble(text: string, shared: boolean): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const source = shared ? text.replace(MEMORY_PLAIN, MEMORY_SHARED) : text;
  const features = { simd: true, threads: shared, bulk_memory: true };
  const module = wabt.parseWat('simd.wat', source, features);
  try {
    // wabt.js's validate takes the features too; its typings say otherwise.
    (module.validate as (f: typeof features) => void)(features);
    return new Uint8Array(module.toBinary({ log: false }).buffer);
  } finally {
    module.destroy();
  }
}

async function main(): Promise<void> {
  const text = kernelText();
  writeFileSync(OUT + 'simd.wat', text);
  writeFileSync(OUT + 'simd.wasm', await assemble(text, false));
  writeFileSync(OUT + 'simd-shared.wasm', await assemble(text, true));
  for (const f of ['simd.wat', 'simd.wasm', 'simd-shared.wasm']) process.stdout.write(`${f}: ${readFileSync(OUT + f).length} bytes\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
