package llvmgen_test

import "testing"

func TestPoolCompiled(t *testing.T) {
	g := rdGraph(t, `  input %x : f32[2,3,9,9]
  input %v : f32[1,2,11]
  input %w : f32[1,2,5,4,6]
  const %os : i64[4] = [2, 3, 11, 10]
  %mp, %mi = MaxPool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %mc, %mci = MaxPool(%x) {kernel_shape=[2, 3], strides=[2, 2], dilations=[2, 1], ceil_mode=1, storage_order=1}
  %ms = MaxPool(%x) {kernel_shape=[3, 2], auto_pad="SAME_LOWER", strides=[2, 3]}
  %ap = AveragePool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1, ceil_mode=1}
  %ae = AveragePool(%x) {kernel_shape=[3, 2], pads=[1, 0, 2, 1]}
  %au = AveragePool(%x) {kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"}
  %lp = LpPool(%x) {kernel_shape=[2, 2], p=3}
  %l2 = LpPool(%x) {kernel_shape=[3, 2], pads=[1, 1, 1, 1], strides=[1, 2]}
  %ga = GlobalAveragePool(%x)
  %gm = GlobalMaxPool(%x)
  %gl = GlobalLpPool(%x) {p=3}
  %un = MaxUnpool(%mp, %mi) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %uo = MaxUnpool(%mp, %mi, %os) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %m1, %i1 = MaxPool(%v) {kernel_shape=[3], strides=[2], ceil_mode=1}
  %a1 = AveragePool(%v) {kernel_shape=[4], strides=[3], pads=[2, 1]}
  %m3 = MaxPool(%w) {kernel_shape=[2, 3, 2], strides=[2, 1, 2]}
  %a3 = AveragePool(%w) {kernel_shape=[3, 2, 3], pads=[1, 0, 1, 1, 1, 1], count_include_pad=1}
  %g3 = GlobalAveragePool(%w)
  %mf = MaxPool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %md = MaxPool(%x) {kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, strides=[2, 1]}
  %ad = AveragePool(%x) {kernel_shape=[2, 3], pads=[1, 2, 0, 2], strides=[1, 2], count_include_pad=1}
  output %mf
  output %md
  output %ad
  output %mp
  output %mi
  output %mc
  output %mci
  output %ms
  output %ap
  output %ae
  output %au
  output %lp
  output %l2
  output %ga
  output %gm
  output %gl
  output %un
  output %uo
  output %m1
  output %i1
  output %a1
  output %m3
  output %a3
  output %g3`)
	rdCheck(t, g, rdInputs(g, 41, false), 1e-4)
}

func TestMaxPoolCompiledInt8AndNaN(t *testing.T) {
	g := rdGraph(t, `  input %q : u8[1,2,7,7]
  input %s : i8[1,2,7,7]
  input %x : f32[1,3,6,7]
  %qm, %qi = MaxPool(%q) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %sm = MaxPool(%s) {kernel_shape=[2, 2], ceil_mode=1, strides=[2, 2]}
  %qr = MaxPool(%q) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %xm, %xi = MaxPool(%x) {kernel_shape=[2, 3], pads=[1, 1, 1, 1]}
  %gm = GlobalMaxPool(%x)
  %xf = MaxPool(%x) {kernel_shape=[2, 3], pads=[1, 1, 1, 1]}
  %xa = AveragePool(%x) {kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]}
  output %xf
  output %xa
  output %qm
  output %qr
  output %qi
  output %sm
  output %xm
  output %xi
  output %gm`)
	rdCheck(t, g, rdInputs(g, 42, true), 1e-4) // NaNs and ties in %x
}

func TestPoolCompiledF64Rows(t *testing.T) {
	g := rdGraph(t, `  input %x : f64[1,2,13,17]
  %m = MaxPool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}
  %a = AveragePool(%x) {kernel_shape=[5, 4], strides=[1, 3], pads=[2, 1, 2, 3]}
  output %m
  output %a`)
	rdCheck(t, g, rdInputs(g, 43, false), 1e-4)
}
