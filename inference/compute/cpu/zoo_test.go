package cpu

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/quant"
	"inferenceruntime/internal/testshared"
)

// zooDir is ../shared/models/quants; the test skips when it is absent.
func zooDir(t testing.TB) string {
	t.Helper()
	return testshared.Dir(t, "models", "quants")
}

// zooTypes are the weight types the product claims to run: the CPU backend
// must have both kernels (GetRows, MulMat) for each, so a missing one fails
// the tests instead of skipping them.
var zooTypes = []string{"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "IQ3_S"}

func readFloats(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

type zooDot struct {
	VecDot   []float64 `json:"vec_dot"`
	ExactF64 []float64 `json:"exact_f64"`
}

// zooTensor opens zoo-<T>.gguf and returns tensor name's bytes (the file
// stays mapped until the test ends).
func zooTensor(t testing.TB, dir, typ, name string) (quant.Type, []byte) {
	t.Helper()
	f, err := gguf.Open(filepath.Join(dir, "zoo-"+typ+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	info, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("zoo-%s: no tensor %s", typ, name)
	}
	data, err := f.TensorData(info)
	if err != nil {
		t.Fatal(err)
	}
	return info.Type, data
}

func newCPU(t testing.TB, threads int) (compute.Device, compute.Backend) {
	t.Helper()
	dev, err := compute.FirstDevice("cpu")
	if err != nil {
		t.Fatal(err)
	}
	be, err := dev.NewBackend(compute.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return dev, be
}

// TestZooDequantize runs GetRows over every row of both zoo tensors and
// expects ggml's dequantization bit for bit.
func TestZooDequantize(t *testing.T) {
	dir := zooDir(t)
	dev, be := newCPU(t, 2)
	for _, typ := range zooTypes {
		t.Run(typ, func(t *testing.T) {
			want := readFloats(t, filepath.Join(dir, "zoo-"+typ+".dequant.f32"))
			for ti, name := range []string{"zoo.t0", "zoo.t1"} {
				qt, data := zooTensor(t, dir, typ, name)
				if !dev.Supports(compute.OpGetRows, qt) {
					t.Fatalf("the CPU backend has no GetRows kernel for %s", qt)
				}
				buf, err := dev.WrapHost(data)
				if err != nil {
					t.Fatal(err)
				}
				w, err := compute.NewTensor(buf, 0, qt, compute.Shape{256, 32})
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int32, 32)
				for i := range ids {
					ids[i] = int32(31 - i)
				}
				g := compute.NewGraph()
				out := g.GetRows(w, g.Int32s(ids))
				g.Output(out)
				if err := be.Compute(g); err != nil {
					t.Fatal(err)
				}
				got := make([]float32, 256*32)
				if err := be.Read(out, got); err != nil {
					t.Fatal(err)
				}
				for i, id := range ids {
					for j := 0; j < 256; j++ {
						g, w := got[i*256+j], want[ti*8192+int(id)*256+j]
						if math.Float32bits(g) != math.Float32bits(w) && !(g == 0 && w == 0) {
							t.Fatalf("%s row %d col %d: got %g want %g", name, id, j, g, w)
						}
					}
				}
				buf.Free()
			}
		})
	}
}

// TestZooActivations checks the activation quantizers against ggml's bytes.
func TestZooActivations(t *testing.T) {
	dir := zooDir(t)
	x := readFloats(t, filepath.Join(dir, "zoo-dot-x.f32"))
	for _, isa := range isaLevels(t) {
		use(t, isa)
		for _, c := range []struct {
			vdt  quant.Type
			file string
		}{{quant.Q8_0, "q8_0"}, {quant.Q8_1, "q8_1"}, {quant.Q8_K, "q8_K"}} {
			want, err := os.ReadFile(filepath.Join(dir, "zoo-dot-x."+c.file+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := QuantizeRow(c.vdt, x)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s %s: quantized x differs from ggml's", isa, c.vdt)
			}
		}
	}
}

// TestZooVecDot multiplies zoo.t0 (32 rows) by x through MulMat and compares
// with ggml's vec_dot (x quantized the same way), relative to sum|w*x|. The
// float types keep x in float32, so they are compared with exact_f64.
func TestZooVecDot(t *testing.T) {
	dir := zooDir(t)
	x := readFloats(t, filepath.Join(dir, "zoo-dot-x.f32"))
	deq := map[string][]float32{}
	for _, typ := range zooTypes {
		deq[typ] = readFloats(t, filepath.Join(dir, "zoo-"+typ+".dequant.f32"))
	}
	for _, isa := range isaLevels(t) {
		use(t, isa)
		dev, be := newCPU(t, 2)
		for _, typ := range zooTypes {
			var ref zooDot
			b, err := os.ReadFile(filepath.Join(dir, "zoo-"+typ+".dot.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			qt, data := zooTensor(t, dir, typ, "zoo.t0")
			if !dev.Supports(compute.OpMulMat, qt) {
				t.Errorf("%s: the CPU backend has no MulMat kernel for %s", isa, typ)
				continue
			}
			buf, _ := dev.WrapHost(data)
			w, _ := compute.NewTensor(buf, 0, qt, compute.Shape{256, 32})
			g := compute.NewGraph()
			out := g.MulMat(w, g.Float32s(x, compute.Shape{256}))
			g.Output(out)
			if err := be.Compute(g); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, 32)
			if err := be.Read(out, got); err != nil {
				t.Fatal(err)
			}
			want := ref.VecDot
			if qt == quant.F16 || qt == quant.BF16 {
				want = ref.ExactF64
			}
			worst := 0.0
			for r := 0; r < 32; r++ {
				mag := 0.0
				for j := 0; j < 256; j++ {
					mag += math.Abs(float64(deq[typ][r*256+j]) * float64(x[j]))
				}
				if mag == 0 {
					mag = 1
				}
				worst = max(worst, math.Abs(float64(got[r])-want[r])/mag)
			}
			t.Logf("%-7s %-6s max |ours - ggml| / sum|w*x| = %.2e", isa, typ, worst)
			if worst > 1e-6 {
				t.Errorf("%s %s: relative error %.2e > 1e-6", isa, typ, worst)
			}
			buf.Free()
		}
	}
}

// isaLevels lists the kernel levels this CPU has; use(t, level) switches to
// one. The best level is restored when the test ends.
func isaLevels(t testing.TB) []string {
	best := isaNames[detectISA()]
	t.Cleanup(func() { setISA(best) })
	var out []string
	for _, l := range isaNames {
		if _, err := setISA(l); err == nil {
			out = append(out, l)
		}
	}
	setISA(best)
	return out
}

func use(t testing.TB, level string) {
	t.Helper()
	if _, err := setISA(level); err != nil {
		t.Fatal(err)
	}
}
