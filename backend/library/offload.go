package library

// OffloadLayers is how many of a model's blocks fit in free bytes of a
// device's memory, in EstimateFit's terms: the buffers first, then for
// each block its share of the weights and its KV cache at ctx tokens. The
// output head counts as one more block, as llama.cpp and Ollama count it,
// so Layers+1 means the whole model fits. 0 when nothing fits or the
// header lacks the layer count.
func OffloadLayers(m Meta, fileSize, ctx int64, kvBytes int, free int64) int {
	n := m.HParams.Layers
	if n <= 0 || free <= 0 {
		return 0
	}
	f := EstimateFit(m, fileSize, ctx, kvBytes, free)
	// The same headroom as a "fits" verdict: drivers, other programs and
	// fragmentation take the rest.
	room := free*8/10 - f.Buffers
	if room >= f.Weights+f.KVCache {
		return int(n + 1)
	}
	perBlock := f.Weights/(n+1) + f.KVCache/n
	if room <= 0 || perBlock <= 0 {
		return 0
	}
	return int(min(room/perBlock, n))
}
