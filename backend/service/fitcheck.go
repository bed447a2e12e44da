package service

import (
	"fmt"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
)

// availableMemory is library.AvailableMemory; tests stand in a machine.
var availableMemory = library.AvailableMemory

// checkFits refuses, before anything is read, a model that the machine's
// free memory cannot hold even with one session: the store's estimate
// (library.EstimateFitKV: the weights once, the KV cache of ctx tokens of
// the runner's cache type, the compute buffers) against MemAvailable. A
// GPU backend holds some of it elsewhere, and an unknown free memory tells
// nothing, so neither is checked.
func (r *Runner) checkFits(ref ModelRef, ctx int) error {
	if r.opts.Backend != "" && r.opts.Backend != "cpu" {
		return nil
	}
	avail, err := availableMemory()
	if err != nil || avail <= 0 {
		return nil
	}
	f, err := library.EstimateFitKV(ref.Meta, ref.Size, int64(ctx), r.opts.KVType, avail)
	if err != nil {
		return Invalid("kv_cache_type", "%v", err)
	}
	if f.Verdict != library.FitWontFit {
		return nil
	}
	return fmt.Errorf("%w: %s does not fit in the %s of free memory: %s (a shorter context or a smaller KV cache type, e.g. q8_0, needs less)",
		ErrNoMemory, ref.Name, events.FormatBytes(avail), f)
}
