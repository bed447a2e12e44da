package cpu

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"inferenceruntime/inference/compute"
)

var benchTypes = []string{"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "IQ3_S"}

// BenchmarkMatVec multiplies Llama-3.2-1B-shaped weights by one activation
// row and reports the weight bytes streamed per second.
func BenchmarkMatVec(b *testing.B) {
	// The last shape (the output matrix of Llama-3.2-1B, cut to 64k rows)
	// does not fit the caches: its speed is that of memory.
	shapes := []struct{ k, m int }{{2048, 2048}, {2048, 8192}, {8192, 2048}, {2048, 65536}}
	r := rand.New(rand.NewPCG(1, 1))
	for _, typ := range benchTypes {
		for _, s := range shapes {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%s/%dx%d/t%d", typ, s.k, s.m, threads)
				b.Run(name, func(b *testing.B) {
					dev, be := newCPU(b, threads)
					w, _ := zooMatrix(b, dev, typ, s.k, s.m)
					x := randVec(r, s.k, 1)
					g := compute.NewGraph()
					out := g.MulMat(w, g.Float32s(x, compute.Shape{s.k}))
					g.Output(out)
					b.SetBytes(w.Bytes())
					b.ResetTimer()
					cpu0 := cpuTime()
					for i := 0; i < b.N; i++ {
						if err := be.Compute(g); err != nil {
							b.Fatal(err)
						}
					}
					// On a shared machine wall time includes time spent
					// descheduled; bytes per CPU-second of all threads is a
					// steadier measure of the kernel itself.
					b.ReportMetric(float64(w.Bytes())*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e9, "GB/cpu-s")
				})
			}
		}
	}
}

// BenchmarkMatMat is a prompt batch of 64 rows through a 2048x2048 weight;
// it reports weight bytes times rows per second (the useful work rate).
func BenchmarkMatMat(b *testing.B) {
	const k, m, n = 2048, 2048, 64
	r := rand.New(rand.NewPCG(2, 2))
	for _, typ := range []string{"F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", typ, threads), func(b *testing.B) {
				dev, be := newCPU(b, threads)
				w, _ := zooMatrix(b, dev, typ, k, m)
				x := randVec(r, k*n, 1)
				g := compute.NewGraph()
				out := g.MulMat(w, g.Float32s(x, compute.Shape{k, n}))
				g.Output(out)
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					if err := be.Compute(g); err != nil {
						b.Fatal(err)
					}
				}
				flops := float64(2*k*m*n) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flops/(cpuTime()-cpu0).Seconds()/1e9, "GFLOP/cpu-s")
			})
		}
	}
}

// BenchmarkAttentionDecode is one decode step of Llama-3.2-1B's attention
// (32 query heads, 8 kv heads of 64) at a context depth, for one layer or
// sixteen: the caches of one layer stay in the last-level cache, those of
// sixteen at depth 4095 (128 MiB of F16) come from memory, as in a model.
func BenchmarkAttentionDecode(b *testing.B) {
	const hd, nh, nkv, capacity = 64, 32, 8, 4096
	r := rand.New(rand.NewPCG(3, 3))
	for _, cache := range []compute.DType{compute.F32, compute.F16, compute.Q8_0, compute.Q4_0} {
		for _, depth := range []int{1024, 4095} {
			for _, layers := range []int{1, 16} {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/depth%d/layers%d/t%d", cache, depth, layers, threads), func(b *testing.B) {
						dev, be := newCPU(b, threads)
						size, _ := compute.ByteSize(cache, compute.Shape{hd, nkv, capacity})
						g := compute.NewGraph()
						q := g.Float32s(randVec(r, hd*nh, 1), compute.Shape{hd, nh, 1})
						kv := g.Float32s(randVec(r, hd*nkv, 1), compute.Shape{hd, nkv, 1})
						for range layers {
							var caches [2]*compute.Tensor
							for i := range caches {
								buf, err := dev.Alloc(size)
								if err != nil {
									b.Fatal(err)
								}
								b.Cleanup(func() { buf.Free() })
								caches[i], _ = compute.NewTensor(buf, 0, cache, compute.Shape{hd, nkv, capacity})
							}
							g.Output(g.Attention(q, kv, kv, caches[0], caches[1], g.Int32s([]int32{int32(depth)}), compute.AttentionParams{Scale: 0.125}))
						}
						b.ResetTimer()
						cpu0 := cpuTime()
						for i := 0; i < b.N; i++ {
							if err := be.Compute(g); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
					})
				}
			}
		}
	}
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMemoryBandwidth streams 1 GiB with 512-bit loads on 1 and 2
// threads: the ceiling of decode, which reads every weight once per token.
func BenchmarkMemoryBandwidth(b *testing.B) {
	const size = 1 << 30
	p, free := hugeAlloc(size)
	if p == nil {
		b.Skip("cannot allocate 1 GiB")
	}
	defer free()
	buf := unsafe.Slice((*byte)(p), size)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			_, be := newCPU(b, threads)
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				streamRead(be, p, size)
			}
		})
	}
}

// BenchmarkInt8Peak issues independent 512-bit vpdpbusd on 1 and 2 threads
// and reports int8 multiply-adds per second: the ceiling of prefill with
// int8 kernels.
func BenchmarkInt8Peak(b *testing.B) {
	const rounds = 1 << 20
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			_, be := newCPU(b, threads)
			if !vnniPeak(be, 1) {
				b.Skip("the kernels in use are not AVX-512 VNNI")
			}
			start := time.Now()
			for i := 0; i < b.N; i++ {
				vnniPeak(be, rounds)
			}
			macs := float64(b.N) * rounds * 12 * 64 * float64(threads)
			b.ReportMetric(macs/time.Since(start).Seconds()/1e9, "GMAC/s")
		})
	}
}
