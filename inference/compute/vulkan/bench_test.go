package vulkan

import (
	"testing"

	"inferenceruntime/inference/compute"
)

// BenchmarkDecodeStep is a decode-sized graph of a few products and
// element-wise ops: on a software device it measures the fixed cost of one
// submission more than the arithmetic.
func BenchmarkDecodeStep(b *testing.B) { benchSteps(b, 10) }

func BenchmarkOneOp(b *testing.B) { benchSteps(b, 1) }

func benchSteps(b *testing.B, loops int) {
	devs, err := compute.Devices("vulkan")
	if err != nil || len(devs) == 0 {
		b.Skip("no Vulkan device")
	}
	d := devs[0]
	be, err := d.NewBackend(compute.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	wb, err := d.Alloc(64 * 512 * 4)
	if err != nil {
		b.Fatal(err)
	}
	defer wb.Free()
	w, _ := compute.NewTensor(wb, 0, compute.F32, compute.Shape{64, 512})
	x := make([]float32, 64)
	b.ResetTimer()
	for range b.N {
		g := compute.NewGraph()
		y := g.Float32s(x, compute.Shape{64})
		for range loops {
			y = g.RMSNorm(g.Rows(g.Reshape(g.MulMat(w, y), compute.Shape{64, 8}), 0, 1), 1e-5)
		}
		g.Output(y)
		if err := be.Compute(g); err != nil {
			b.Fatal(err)
		}
	}
}
