;; Fontloom's SIMD kernels over the wasm backend's heap (f32x4: 128-bit wasm SIMD, four floats a step).
;; Written by scripts/build-kernels.ts from the constants of src-main/engine/gelu.ts: edit those, not this.
;; GELU as x·Φ(x) = ½x(1 + E(x)), E(x) = erf(x/√2) ≈ x·P(x²)/Q(x²) for |x| ≤ 5.75 and ±1 beyond (the
;; same rational fit as the TypeScript kernel, evaluated here in float32).
(module
  (import "env" "memory" (memory 1))
  ;; gelu(x, y, n): y[i] = GELU(x[i]) for i < n − n mod 4; the caller does the last few.
  (func (export "gelu") (param $x i32) (param $y i32) (param $n i32)
    (local $end i32) (local $v v128) (local $a v128) (local $s v128) (local $p v128) (local $q v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $a (f32x4.max (f32x4.min (local.get $v) (v128.const f32x4 5.75 5.75 5.75 5.75)) (v128.const f32x4 -5.75 -5.75 -5.75 -5.75)))
        (local.set $s (f32x4.mul (local.get $a) (local.get $a)))
        (local.set $p (f32x4.add (v128.const f32x4 0.7978845699945748 0.7978845699945748 0.7978845699945748 0.7978845699945748) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.06529105043046017 0.06529105043046017 0.06529105043046017 0.06529105043046017) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.009615149549188521 0.009615149549188521 0.009615149549188521 0.009615149549188521) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00033998413449745564 0.00033998413449745564 0.00033998413449745564 0.00033998413449745564) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00001703582639803101 0.00001703582639803101 0.00001703582639803101 0.00001703582639803101) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 1.0727164274257117e-7 1.0727164274257117e-7 1.0727164274257117e-7 1.0727164274257117e-7) (f32x4.mul (local.get $s) (v128.const f32x4 -1.551478354163561e-10 -1.551478354163561e-10 -1.551478354163561e-10 -1.551478354163561e-10))))))))))))))
        (local.set $q (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.24849696664848758 0.24849696664848758 0.24849696664848758 0.24849696664848758) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.028466713802484566 0.028466713802484566 0.028466713802484566 0.028466713802484566) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.0019345969474910615 0.0019345969474910615 0.0019345969474910615 0.0019345969474910615) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00008217379799140787 0.00008217379799140787 0.00008217379799140787 0.00008217379799140787) (f32x4.mul (local.get $s) (v128.const f32x4 0.000002022370623597216 0.000002022370623597216 0.000002022370623597216 0.000002022370623597216))))))))))))
        (v128.store (local.get $y)
          (f32x4.mul (f32x4.mul (local.get $v) (v128.const f32x4 0.5 0.5 0.5 0.5))
            (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.div (f32x4.mul (local.get $a) (local.get $p)) (local.get $q)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next))))
  ;; gelu_grad(x, dy, dx, n): dx = dy·(½(1 + E) + ½x·E′) with E′ = (P + 2s·(P′ − Q′·P/Q))/Q, and
  ;; E′ = 0 beyond the clamp; for i < n − n mod 4, the caller does the last few.
  (func (export "gelu_grad") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32)
    (local $end i32) (local $v v128) (local $a v128) (local $s v128) (local $p v128) (local $q v128)
    (local $dp v128) (local $dq v128) (local $r v128) (local $pr v128) (local $de v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $a (f32x4.max (f32x4.min (local.get $v) (v128.const f32x4 5.75 5.75 5.75 5.75)) (v128.const f32x4 -5.75 -5.75 -5.75 -5.75)))
        (local.set $s (f32x4.mul (local.get $a) (local.get $a)))
        (local.set $p (f32x4.add (v128.const f32x4 0.7978845699945748 0.7978845699945748 0.7978845699945748 0.7978845699945748) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.06529105043046017 0.06529105043046017 0.06529105043046017 0.06529105043046017) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.009615149549188521 0.009615149549188521 0.009615149549188521 0.009615149549188521) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00033998413449745564 0.00033998413449745564 0.00033998413449745564 0.00033998413449745564) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00001703582639803101 0.00001703582639803101 0.00001703582639803101 0.00001703582639803101) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 1.0727164274257117e-7 1.0727164274257117e-7 1.0727164274257117e-7 1.0727164274257117e-7) (f32x4.mul (local.get $s) (v128.const f32x4 -1.551478354163561e-10 -1.551478354163561e-10 -1.551478354163561e-10 -1.551478354163561e-10))))))))))))))
        (local.set $q (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.24849696664848758 0.24849696664848758 0.24849696664848758 0.24849696664848758) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.028466713802484566 0.028466713802484566 0.028466713802484566 0.028466713802484566) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.0019345969474910615 0.0019345969474910615 0.0019345969474910615 0.0019345969474910615) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00008217379799140787 0.00008217379799140787 0.00008217379799140787 0.00008217379799140787) (f32x4.mul (local.get $s) (v128.const f32x4 0.000002022370623597216 0.000002022370623597216 0.000002022370623597216 0.000002022370623597216))))))))))))
        (local.set $dp (f32x4.add (v128.const f32x4 0.06529105043046017 0.06529105043046017 0.06529105043046017 0.06529105043046017) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.019230299098377042 0.019230299098377042 0.019230299098377042 0.019230299098377042) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.0010199524034923669 0.0010199524034923669 0.0010199524034923669 0.0010199524034923669) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.00006814330559212404 0.00006814330559212404 0.00006814330559212404 0.00006814330559212404) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 5.363582137128558e-7 5.363582137128558e-7 5.363582137128558e-7 5.363582137128558e-7) (f32x4.mul (local.get $s) (v128.const f32x4 -9.308870124981365e-10 -9.308870124981365e-10 -9.308870124981365e-10 -9.308870124981365e-10))))))))))))
        (local.set $dq (f32x4.add (v128.const f32x4 0.24849696664848758 0.24849696664848758 0.24849696664848758 0.24849696664848758) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.05693342760496913 0.05693342760496913 0.05693342760496913 0.05693342760496913) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.005803790842473185 0.005803790842473185 0.005803790842473185 0.005803790842473185) (f32x4.mul (local.get $s) (f32x4.add (v128.const f32x4 0.0003286951919656315 0.0003286951919656315 0.0003286951919656315 0.0003286951919656315) (f32x4.mul (local.get $s) (v128.const f32x4 0.00001011185311798608 0.00001011185311798608 0.00001011185311798608 0.00001011185311798608))))))))))
        (local.set $r (f32x4.div (v128.const f32x4 1 1 1 1) (local.get $q)))
        (local.set $pr (f32x4.mul (local.get $p) (local.get $r)))
        (local.set $de
          (v128.and
            (f32x4.mul (local.get $r)
              (f32x4.add (local.get $p)
                (f32x4.mul (f32x4.mul (v128.const f32x4 2 2 2 2) (local.get $s))
                  (f32x4.sub (local.get $dp) (f32x4.mul (local.get $pr) (local.get $dq))))))
            (f32x4.lt (f32x4.abs (local.get $v)) (v128.const f32x4 5.75 5.75 5.75 5.75))))
        (v128.store (local.get $dx)
          (f32x4.mul (v128.load (local.get $dy))
            (f32x4.add
              (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $a) (local.get $pr))))
              (f32x4.mul (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $v)) (local.get $de)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
        (br $next))))

  ;; sum(p, n) → Σ p[i] in float64, n a multiple of 4.
  (func (export "sum") (param $p i32) (param $n i32) (result f64)
    (local $end i32) (local $acc v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.add (f64x2.promote_low_f32x4 (v128.load (local.get $p)))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (v128.load (local.get $p)) (v128.load (local.get $p)))))))
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
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $pixels_done
      (loop $pixel
        (br_if $pixels_done (i32.eqz (local.get $pixels)))
        (local.set $k (i32.const 0))
        (block $channels_done
          (loop $channel
            (br_if $channels_done (i32.ge_u (local.get $k) (local.get $cb)))
            (v128.store (local.get $y)
              (f32x4.add
                (f32x4.mul (v128.load (local.get $x)) (v128.load (i32.add (local.get $coef) (local.get $k))))
                (v128.load (i32.add (i32.add (local.get $coef) (local.get $cb)) (local.get $k)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $channel)))
        (local.set $pixels (i32.sub (local.get $pixels) (i32.const 1)))
        (br $pixel))))
  ;; channel_sums(x, dy, mean, r, pixels, c, out): out[ch] += Σ dy·(x − mean)·r, out[c + ch] += Σ dy.
  (func (export "channel_sums") (param $x i32) (param $dy i32) (param $mean f32) (param $r f32) (param $pixels i32) (param $c i32) (param $out i32)
    (local $cb i32) (local $k i32) (local $m v128) (local $rr v128) (local $d v128) (local $at i32)
    (local.set $m (f32x4.splat (local.get $mean)))
    (local.set $rr (f32x4.splat (local.get $r)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $pixels_done
      (loop $pixel
        (br_if $pixels_done (i32.eqz (local.get $pixels)))
        (local.set $k (i32.const 0))
        (block $channels_done
          (loop $channel
            (br_if $channels_done (i32.ge_u (local.get $k) (local.get $cb)))
            (local.set $d (v128.load (local.get $dy)))
            (local.set $at (i32.add (local.get $out) (local.get $k)))
            (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at))
              (f32x4.mul (local.get $d) (f32x4.mul (f32x4.sub (v128.load (local.get $x)) (local.get $m)) (local.get $rr)))))
            (local.set $at (i32.add (local.get $at) (local.get $cb)))
            (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (local.get $d)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $channel)))
        (local.set $pixels (i32.sub (local.get $pixels) (i32.const 1)))
        (br $pixel))))
  ;; norm_grad(x, dy, dx, coef, k2, k3, pixels, c): dx = coef[ch]·dy + k2·x + k3.
  (func (export "norm_grad") (param $x i32) (param $dy i32) (param $dx i32) (param $coef i32) (param $k2 f32) (param $k3 f32) (param $pixels i32) (param $c i32)
    (local $cb i32) (local $k i32) (local $a v128) (local $b v128)
    (local.set $a (f32x4.splat (local.get $k2)))
    (local.set $b (f32x4.splat (local.get $k3)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $pixels_done
      (loop $pixel
        (br_if $pixels_done (i32.eqz (local.get $pixels)))
        (local.set $k (i32.const 0))
        (block $channels_done
          (loop $channel
            (br_if $channels_done (i32.ge_u (local.get $k) (local.get $cb)))
            (v128.store (local.get $dx)
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $coef) (local.get $k))) (v128.load (local.get $dy)))
                (f32x4.add (f32x4.mul (local.get $a) (v128.load (local.get $x))) (local.get $b))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $channel)))
        (local.set $pixels (i32.sub (local.get $pixels) (i32.const 1)))
        (br $pixel))))

  ;; shifted_planes(src, dst, planes, h, w, dh, dw): for each h×w plane of src, writes the plane
  ;; shifted by (dh, dw) with zeros where it leaves the plane: dst[q, y, x] = src[q, y + dh, x + dw].
  ;; Per plane, one block copy of the shifted floats (dst[i] = src[i + dh·w + dw]), then zeros over
  ;; the rows and columns that came from outside the plane.
  (func (export "shifted_planes") (param $src i32) (param $dst i32) (param $planes i32) (param $h i32) (param $w i32) (param $dh i32) (param $dw i32)
    (local $size i32) (local $shift i32) (local $i0 i32) (local $i1 i32) (local $row0 i32) (local $rows i32)
    (local $col i32) (local $cols i32) (local $q i32) (local $y i32)
    (local.set $size (i32.mul (local.get $h) (local.get $w)))
    (local.set $shift (i32.add (i32.mul (local.get $dh) (local.get $w)) (local.get $dw)))
    ;; dst[i] for i0 ≤ i < i1 reads inside the plane's floats.
    (local.set $i0 (select (i32.sub (i32.const 0) (local.get $shift)) (i32.const 0) (i32.lt_s (local.get $shift) (i32.const 0))))
    (local.set $i1 (select (i32.sub (local.get $size) (local.get $shift)) (local.get $size) (i32.gt_s (local.get $shift) (i32.const 0))))
    (local.set $i0 (select (local.get $size) (local.get $i0) (i32.gt_s (local.get $i0) (local.get $size))))
    (local.set $i1 (select (local.get $i0) (local.get $i1) (i32.lt_s (local.get $i1) (local.get $i0))))
    ;; Rows row0 … row0 + rows − 1 and columns col … col + cols − 1 come from outside.
    (local.set $rows (select (local.get $dh) (i32.sub (i32.const 0) (local.get $dh)) (i32.gt_s (local.get $dh) (i32.const 0))))
    (local.set $rows (select (local.get $h) (local.get $rows) (i32.gt_s (local.get $rows) (local.get $h))))
    (local.set $row0 (select (i32.sub (local.get $h) (local.get $rows)) (i32.const 0) (i32.gt_s (local.get $dh) (i32.const 0))))
    (local.set $cols (select (local.get $dw) (i32.sub (i32.const 0) (local.get $dw)) (i32.gt_s (local.get $dw) (i32.const 0))))
    (local.set $cols (select (local.get $w) (local.get $cols) (i32.gt_s (local.get $cols) (local.get $w))))
    (local.set $col (select (i32.sub (local.get $w) (local.get $cols)) (i32.const 0) (i32.gt_s (local.get $dw) (i32.const 0))))
    (block $planes_done
      (loop $each_plane
        (br_if $planes_done (i32.ge_u (local.get $q) (local.get $planes)))
        (memory.copy (i32.add (local.get $dst) (i32.shl (local.get $i0) (i32.const 2))) (i32.add (local.get $src) (i32.shl (i32.add (local.get $i0) (local.get $shift)) (i32.const 2))) (i32.shl (i32.sub (local.get $i1) (local.get $i0)) (i32.const 2)))
        (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $i0) (i32.const 2)))
        (memory.fill (i32.add (local.get $dst) (i32.shl (local.get $i1) (i32.const 2))) (i32.const 0) (i32.shl (i32.sub (local.get $size) (local.get $i1)) (i32.const 2)))
        (memory.fill (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $row0) (local.get $w)) (i32.const 2))) (i32.const 0) (i32.shl (i32.mul (local.get $rows) (local.get $w)) (i32.const 2)))
        (if (i32.gt_s (local.get $cols) (i32.const 0))
          (then
            (local.set $y (i32.const 0))
            (block $rows_done
              (loop $each_row
                (br_if $rows_done (i32.ge_s (local.get $y) (local.get $h)))
                (memory.fill (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $col)) (i32.const 2))) (i32.const 0) (i32.shl (local.get $cols) (i32.const 2)))
                (local.set $y (i32.add (local.get $y) (i32.const 1)))
                (br $each_row)))))
        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $size) (i32.const 2))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $size) (i32.const 2))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $each_plane))))

  ;; bmm(a, b, c, batch, m, k, n): c[t] = a[t]·b[t] for a [batch, m, k], b [batch, k, n], m and n
  ;; multiples of 4: blocks of 4 rows × 4 columns kept in registers over the whole k.
  (func (export "bmm") (param $a i32) (param $b i32) (param $c i32) (param $batch i32) (param $m i32) (param $k i32) (param $n i32)
    (local $t i32) (local $i i32) (local $j i32) (local $kk i32) (local $arow i32) (local $bcol i32) (local $bv v128)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local.set $t (i32.const 0))
    (block $t_done
      (loop $t_next
        (br_if $t_done (i32.ge_u (local.get $t) (local.get $batch)))
        (local.set $i (i32.const 0))
    (block $i_done
      (loop $i_next
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
    (block $j_done
      (loop $j_next
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $acc0 (v128.const i32x4 0 0 0 0))
                (local.set $acc1 (v128.const i32x4 0 0 0 0))
                (local.set $acc2 (v128.const i32x4 0 0 0 0))
                (local.set $acc3 (v128.const i32x4 0 0 0 0))
                ;; a's row i, b's columns j..j+3, both at kk = 0 (byte addresses).
                (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
                (local.set $bcol (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $kk (i32.const 0))
    (block $kk_done
      (loop $kk_next
        (br_if $kk_done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $bv (v128.load (local.get $bcol)))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $k) (i32.const 0)) (local.get $kk)) (i32.const 2)))) (local.get $bv))))
                    (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $k) (i32.const 1)) (local.get $kk)) (i32.const 2)))) (local.get $bv))))
                    (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $k) (i32.const 2)) (local.get $kk)) (i32.const 2)))) (local.get $bv))))
                    (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $k) (i32.const 3)) (local.get $kk)) (i32.const 2)))) (local.get $bv))))
                    (local.set $bcol (i32.add (local.get $bcol) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $kk_next)))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $acc0))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $acc1))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $acc2))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $acc3))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $j_next)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $i_next)))
        (local.set $a (i32.add (local.get $a) (i32.shl (i32.mul (local.get $m) (local.get $k)) (i32.const 2))))
        (local.set $b (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k) (local.get $n)) (i32.const 2))))
        (local.set $c (i32.add (local.get $c) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $t_next))))

  ;; transpose(src, dst, batch, rows, cols): dst[t, c, r] = src[t, r, c], rows and cols multiples of 4;
  ;; 4×4 blocks turned in registers.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $batch i32) (param $rows i32) (param $cols i32)
    (local $t i32) (local $i i32) (local $j i32) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $t (i32.const 0))
    (block $t_done
      (loop $t_next
        (br_if $t_done (i32.ge_u (local.get $t) (local.get $batch)))
        (local.set $i (i32.const 0))
    (block $i_done
      (loop $i_next
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $j (i32.const 0))
    (block $j_done
      (loop $j_next
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $r0 (v128.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $cols)) (local.get $j)) (i32.const 2)))))
                (local.set $r1 (v128.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $cols)) (local.get $j)) (i32.const 2)))))
                (local.set $r2 (v128.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $cols)) (local.get $j)) (i32.const 2)))))
                (local.set $r3 (v128.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $cols)) (local.get $j)) (i32.const 2)))))
                (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                (v128.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (i32.const 0)) (local.get $rows)) (local.get $i)) (i32.const 2))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                (v128.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (i32.const 1)) (local.get $rows)) (local.get $i)) (i32.const 2))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                (v128.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (i32.const 2)) (local.get $rows)) (local.get $i)) (i32.const 2))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                (v128.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (i32.const 3)) (local.get $rows)) (local.get $i)) (i32.const 2))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $j_next)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $i_next)))
        (local.set $src (i32.add (local.get $src) (i32.shl (i32.mul (local.get $rows) (local.get $cols)) (i32.const 2))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $rows) (local.get $cols)) (i32.const 2))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $t_next))))

  ;; gemm(a, b, c, m, k, n, lda, accumulate): c (+)= a·b for a [m, k] with rows lda floats apart,
  ;; b [k, n], m a multiple of 4 and n of 8: blocks of 4 rows × 8 columns in eight registers over
  ;; the k given (b is read in place, never packed; the caller cuts a long k into slices whose
  ;; part of b stays in cache, adding each slice's product to c).
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $lda i32) (param $accumulate i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $arow i32) (local $bcol i32) (local $b0 v128) (local $b1 v128) (local $av v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $i (i32.const 0))
    (block $i_done
      (loop $i_next
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
    (block $j_done
      (loop $j_next
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $n)))
        (if (local.get $accumulate)
                  (then (local.set $c00 (v128.load (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $n)) (local.get $j)) (i32.const 2))))) (local.set $c01 (v128.load offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $n)) (local.get $j)) (i32.const 2)))))
                    (local.set $c10 (v128.load (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (local.get $j)) (i32.const 2))))) (local.set $c11 (v128.load offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (local.get $j)) (i32.const 2)))))
                    (local.set $c20 (v128.load (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $n)) (local.get $j)) (i32.const 2))))) (local.set $c21 (v128.load offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $n)) (local.get $j)) (i32.const 2)))))
                    (local.set $c30 (v128.load (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $n)) (local.get $j)) (i32.const 2))))) (local.set $c31 (v128.load offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $n)) (local.get $j)) (i32.const 2))))))
                  (else (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
                    (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
                    (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
                    (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))))
                (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $lda)) (i32.const 2))))
                (local.set $bcol (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $kk (i32.const 0))
    (block $kk_done
      (loop $kk_next
        (br_if $kk_done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $b0 (v128.load (local.get $bcol)))
                    (local.set $b1 (v128.load offset=16 (local.get $bcol)))
                    (local.set $av (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $lda) (i32.const 0)) (local.get $kk)) (i32.const 2)))))
                    (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
                    (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
                    (local.set $av (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $lda) (i32.const 1)) (local.get $kk)) (i32.const 2)))))
                    (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
                    (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
                    (local.set $av (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $lda) (i32.const 2)) (local.get $kk)) (i32.const 2)))))
                    (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
                    (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
                    (local.set $av (v128.load32_splat (i32.add (local.get $arow) (i32.shl (i32.add (i32.mul (local.get $lda) (i32.const 3)) (local.get $kk)) (i32.const 2)))))
                    (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
                    (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
                    (local.set $bcol (i32.add (local.get $bcol) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $kk_next)))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c00))
                (v128.store offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c01))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c10))
                (v128.store offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c11))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c20))
                (v128.store offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c21))
                (v128.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c30))
                (v128.store offset=16 (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $c31))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $j_next)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $i_next))))
)
