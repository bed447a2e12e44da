package vulkan

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"inferenceruntime/inference/compute"
	_ "inferenceruntime/inference/compute/cpu"
	"inferenceruntime/inference/quant"
)

// firstDevice returns the first Vulkan device or skips, saying why.
func firstDevice(t *testing.T) compute.Device {
	t.Helper()
	devs, err := compute.Devices("vulkan")
	if err != nil {
		t.Skipf("no Vulkan: %v (Linux: apt-get install mesa-vulkan-drivers libvulkan1)", err)
	}
	if len(devs) == 0 {
		t.Skip("the Vulkan loader found no device (Linux: apt-get install mesa-vulkan-drivers)")
	}
	return devs[0]
}

func TestDevices(t *testing.T) {
	d := firstDevice(t)
	desc := d.Description()
	t.Logf("%s: %s", d.Name(), desc)
	if d.Name() != "vulkan0" || !strings.Contains(desc, "GiB") || !strings.Contains(desc, "Vulkan 1.") {
		t.Errorf("device %q: %q lacks its memory or Vulkan version", d.Name(), desc)
	}
	free, total := d.Memory()
	if total <= 0 || free <= 0 || free > total {
		t.Errorf("memory: %d free of %d", free, total)
	}
	buf, err := d.Alloc(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := d.Memory()
	buf.Free()
	t.Logf("free %d of %d bytes; %d with 64 MiB more allocated", free, total, after)
	for _, dt := range []compute.DType{compute.F32, compute.F16, quant.Q8_0, quant.Q4_0, quant.Q4_K, quant.Q6_K} {
		if !d.Supports(compute.OpMulMat, dt) || !d.Supports(compute.OpGetRows, dt) {
			t.Errorf("%s products are not supported", dt)
		}
	}
	if d.Supports(compute.OpMulMatID, quant.IQ3_S) || d.Supports(compute.OpMulMat, quant.IQ2_XS) {
		t.Error("claims an op it has no shader for")
	}
}

// TestBuffers writes, reads and frees device memory through the mapped and
// the staging path.
func TestBuffers(t *testing.T) {
	d := firstDevice(t)
	buf, err := d.Alloc(1001)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1001)
	got := make([]byte, 1001)
	if err := buf.Read(0, got); err != nil || !bytes.Equal(got, zero) {
		t.Fatalf("a new buffer is not zero: %v", err)
	}
	want := []byte("the quick brown fox")
	if err := buf.Write(990-int64(len(want)), want); err != nil {
		t.Fatal(err)
	}
	got = got[:len(want)]
	if err := buf.Read(990-int64(len(want)), got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v", got, err)
	}
	if err := buf.Write(1000, want); err == nil {
		t.Error("a write past the end succeeded")
	}
	if err := buf.Free(); err != nil {
		t.Fatal(err)
	}
	if err := buf.Free(); err != nil {
		t.Errorf("second Free: %v", err)
	}
	if err := buf.Read(0, got); err == nil {
		t.Error("read after Free succeeded")
	}
}

// TestGraph runs a small graph with every kind of operand: a weight, an
// input, a leaf written by Copy, and an output read back.
func TestGraph(t *testing.T) {
	d := firstDevice(t)
	be, err := d.NewBackend(compute.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	w := []float32{1, 2, 3, 4, 5, 6} // 2 rows of 3
	raw := make([]byte, 24)
	for i, v := range w {
		putF32(raw[4*i:], v)
	}
	wb, err := d.WrapHost(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Free()
	wt, _ := compute.NewTensor(wb, 0, compute.F32, compute.Shape{3, 2})
	cb, err := d.Alloc(8)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Free()
	ct, _ := compute.NewTensor(cb, 0, compute.F32, compute.Shape{2})
	for step := 0; step < 2; step++ {
		g := compute.NewGraph()
		x := g.Float32s([]float32{1, 0, float32(step)}, compute.Shape{3})
		y := g.Scale(g.MulMat(wt, x), 2)
		g.Copy(ct, y)
		g.Output(y)
		if err := be.Compute(g); err != nil {
			t.Fatal(err)
		}
		got, kept := make([]float32, 2), make([]float32, 2)
		if err := be.Read(y, got); err != nil {
			t.Fatal(err)
		}
		if err := be.Read(ct, kept); err != nil {
			t.Fatal(err)
		}
		s := float32(step)
		want := []float32{2 * (1 + 3*s), 2 * (4 + 6*s)}
		if got[0] != want[0] || got[1] != want[1] || kept[0] != want[0] || kept[1] != want[1] {
			t.Errorf("step %d: got %v, kept %v, want %v", step, got, kept, want)
		}
	}
}

// TestForeignBuffer: a weight in CPU memory is refused with an error, not
// read from a wrong address.
func TestForeignBuffer(t *testing.T) {
	d := firstDevice(t)
	cpu, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	hb, err := cpu.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Free()
	wt, _ := compute.NewTensor(hb, 0, compute.F32, compute.Shape{2, 2})
	be, err := d.NewBackend(compute.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	g := compute.NewGraph()
	y := g.MulMat(wt, g.Float32s([]float32{1, 2}, compute.Shape{2}))
	g.Output(y)
	if err := be.Compute(g); err == nil || !strings.Contains(err.Error(), "memory of cpu") {
		t.Errorf("Compute with a CPU weight: %v", err)
	}
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

// TestConcurrentBackends: sessions on one device compute at the same time
// (the device serialises their submissions) and each gets its own results.
func TestConcurrentBackends(t *testing.T) {
	d := firstDevice(t)
	raw := make([]byte, 4*64*32)
	for i := 0; i < 64*32; i++ {
		putF32(raw[4*i:], float32(i%7)-3)
	}
	wb, err := d.WrapHost(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Free()
	w, _ := compute.NewTensor(wb, 0, compute.F32, compute.Shape{64, 32})
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			errs <- func() error {
				be, err := d.NewBackend(compute.Options{})
				if err != nil {
					return err
				}
				defer be.Close()
				for step := range 20 {
					x := make([]float32, 64)
					x[g] = float32(step + 1)
					gr := compute.NewGraph()
					y := gr.MulMat(w, gr.Float32s(x, compute.Shape{64}))
					gr.Output(y)
					if err := be.Compute(gr); err != nil {
						return err
					}
					got := make([]float32, 32)
					if err := be.Read(y, got); err != nil {
						return err
					}
					for r := range 32 {
						if want := float32(step+1) * (float32((r*64+g)%7) - 3); got[r] != want {
							return fmt.Errorf("backend %d step %d row %d: %v, want %v", g, step, r, got[r], want)
						}
					}
				}
				return nil
			}()
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
