package service

import "inferenceruntime/backend/library"

// trimIdleLocked closes the least recently used idle sessions of e while
// they hold more KV cache than the prefix cache may keep. A batched
// session costs only its cache, so up to 4×Parallel of them stay for
// prompts that start like an earlier one; without a byte limit, Parallel.
func (r *Runner) trimIdleLocked(e *entry) {
	limit := r.opts.PrefixCache
	most := 4 * r.opts.Parallel
	if limit < 0 || r.opts.Parallel == 1 {
		most = r.opts.Parallel
	}
	var bytes int64
	for _, p := range e.idle {
		bytes += p.s.CacheBytes()
	}
	// e.idle is in the order sessions came back: the first is the least
	// recently used.
	for len(e.idle) > 0 && (len(e.idle) > most || limit >= 0 && bytes > limit) {
		bytes -= e.idle[0].s.CacheBytes()
		e.idle[0].s.Close()
		e.idle = e.idle[1:]
	}
}

// DefaultParallel is the number of generations per model a machine with
// avail bytes of free memory serves by default: one more per 2 GiB (the KV
// cache of a few thousand tokens of a mid-sized model), 1 to 8. Batched
// generations share the model's threads, so the cores do not bound it.
func DefaultParallel(avail int64) int {
	return max(1, min(int(avail/(2<<30)), 8))
}

// AutoParallel is DefaultParallel of the memory free now (1 when unknown).
func AutoParallel() int {
	avail, err := library.AvailableMemory()
	if err != nil || avail <= 0 {
		return 1
	}
	return DefaultParallel(avail)
}
