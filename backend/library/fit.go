package library

import (
	"fmt"

	"inferenceruntime/backend/events"
	"inferenceruntime/inference/compute"
)

// Verdicts of a fit estimate.
const (
	FitFits    = "fits"  // needs at most 80% of the available memory
	FitTight   = "tight" // fits, but leaves little for everything else
	FitWontFit = "won't fit"
	FitUnknown = "unknown" // the machine's free memory could not be read
)

// Fit is an estimate of the memory a model needs at a context length,
// compared with what the machine has free.
type Fit struct {
	Context   int64  `json:"context"`   // tokens
	Weights   int64  `json:"weights"`   // bytes of the file, mapped and resident
	KVCache   int64  `json:"kvCache"`   // bytes for keys and values of every layer
	Buffers   int64  `json:"buffers"`   // logits, activations, attention scores
	Total     int64  `json:"total"`     // the sum
	Available int64  `json:"available"` // free memory; -1 when unknown
	Verdict   string `json:"verdict"`
	// Exact is false when the hyper-parameters were incomplete and the
	// estimate leans on the weights alone.
	Exact bool `json:"exact"`
}

// fitBatch is the prompt batch the estimate assumes (tokens evaluated at
// once during prefill).
const fitBatch = 512

// EstimateFit estimates the memory to run a model described by m, whose file
// has fileSize bytes, at ctx tokens of context with kvBytes bytes per cached
// element (4 for an F32 cache, 2 for F16), against available bytes of free
// memory (negative: unknown). ctx <= 0 means the model's own context length,
// capped at 4096 as a practical default.
func EstimateFit(m Meta, fileSize, ctx int64, kvBytes int, available int64) Fit {
	if kvBytes <= 0 {
		kvBytes = 4
	}
	return estimateFit(m, fileSize, ctx, int64(kvBytes)*32, available)
}

// EstimateFitKV is EstimateFit for a KV cache type by name (compute.KVTypes:
// f32, f16, q8_0, q4_0; "" is f32): a quantized cache takes its blocks'
// bytes, 34 or 18 per 32 elements.
func EstimateFitKV(m Meta, fileSize, ctx int64, kvType string, available int64) (Fit, error) {
	dt, err := compute.ParseKVType(kvType)
	if err != nil {
		return Fit{}, err
	}
	per32, err := dt.RowSize(32)
	if err != nil {
		return Fit{}, err
	}
	return estimateFit(m, fileSize, ctx, per32, available), nil
}

// estimateFit takes the cache's bytes per 32 elements, which is whole for
// every cache type.
func estimateFit(m Meta, fileSize, ctx int64, kvPer32 int64, available int64) Fit {
	if ctx <= 0 {
		ctx = min(max(m.ContextLength, 0), 4096)
		if ctx == 0 {
			ctx = 4096
		}
	}
	hp := m.HParams
	f := Fit{Context: ctx, Weights: fileSize, Available: available}
	f.Exact = hp.Layers > 0 && hp.HeadsKV > 0 && hp.KeyLength > 0 && m.VocabSize > 0
	// Keys and values for every layer and every position of the window.
	f.KVCache = hp.Layers * ctx * hp.HeadsKV * (hp.KeyLength + hp.ValueLength) * kvPer32 / 32
	// Logits for a token, activations of a prompt batch (residual, norms,
	// q/k/v, feed-forward: about a dozen embedding-sized rows per token), the
	// attention scores of one batch against the whole window for every head,
	// and a fixed allowance for the runtime itself.
	heads := max(hp.Heads, 1)
	f.Buffers = m.VocabSize*4 + fitBatch*hp.Embd*4*12 + heads*fitBatch*min(ctx, 8192)*4/8 + 64<<20
	f.Total = f.Weights + f.KVCache + f.Buffers
	switch {
	case available < 0:
		f.Verdict = FitUnknown
	case f.Total <= available*8/10:
		f.Verdict = FitFits
	case f.Total <= available:
		f.Verdict = FitTight
	default:
		f.Verdict = FitWontFit
	}
	return f
}

// String renders the estimate on one line for the CLI.
func (f Fit) String() string {
	s := fmt.Sprintf("%s at %d ctx: weights %s + KV %s + buffers %s = %s", f.Verdict, f.Context,
		events.FormatBytes(f.Weights), events.FormatBytes(f.KVCache), events.FormatBytes(f.Buffers), events.FormatBytes(f.Total))
	if f.Available >= 0 {
		s += fmt.Sprintf(" of %s free", events.FormatBytes(f.Available))
	}
	if !f.Exact {
		s += " (rough: incomplete header)"
	}
	return s
}
