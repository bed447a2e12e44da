package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"inferenceruntime/inference"
)

// EmbedRequest asks for the embeddings of texts or of token arrays.
type EmbedRequest struct {
	Model string
	// Texts are tokenized with the model's special tokens; Tokens, used
	// when Texts is nil, are taken as given.
	Texts  []string
	Tokens [][]int32
	// Truncate cuts an input longer than the context; without it such an
	// input is an *InvalidError.
	Truncate bool
	// Dimensions > 0 keeps the first components of each vector (then
	// normalised); Pooling overrides the model's ("" = its own).
	Dimensions int
	Pooling    string
	// NumCtx is the most tokens per input; 0 = the runner's default.
	NumCtx    int
	KeepAlive *time.Duration
}

// EmbedResult holds one Embedding per input, in order.
type EmbedResult struct {
	Model        ModelRef
	Inputs       []inference.Embedding
	PromptTokens int // all inputs, after truncation
	// LoadDuration is the time spent loading the model for this request;
	// TotalDuration everything from the call to the end.
	LoadDuration, TotalDuration time.Duration
}

// Embed runs an embedding request: it checks it, waits for a slot on the
// model like Generate, loads the model if needed and embeds each input.
func (r *Runner) Embed(ctx context.Context, req EmbedRequest) (EmbedResult, error) {
	start := time.Now()
	n := len(req.Texts)
	if req.Texts == nil {
		n = len(req.Tokens)
	}
	switch {
	case n == 0:
		return EmbedResult{}, Invalid("input", "is empty")
	case req.Dimensions < 0:
		return EmbedResult{}, Invalid("dimensions", "%d is negative", req.Dimensions)
	case req.NumCtx < 0:
		return EmbedResult{}, Invalid("num_ctx", "%d is negative", req.NumCtx)
	}
	for i, t := range req.Texts {
		if t == "" {
			return EmbedResult{}, Invalid("input", "input %d is an empty string", i)
		}
	}
	for i, t := range req.Tokens {
		if len(t) == 0 {
			return EmbedResult{}, Invalid("input", "input %d has no tokens", i)
		}
	}
	ref, err := r.Resolve(ctx, req.Model)
	if err != nil {
		return EmbedResult{}, err
	}
	res := EmbedResult{Model: ref}
	e, err := r.admit(ctx, ref, r.loadFor(GenerateOptions{}))
	if err != nil {
		return res, err
	}
	defer r.release(e, req.KeepAlive)
	wasLoaded := r.isLoaded(e)
	loadStart := time.Now()
	if err := r.load(e); err != nil {
		return res, err
	}
	if !wasLoaded {
		res.LoadDuration = time.Since(loadStart)
	}
	r.mu.Lock()
	m := e.model
	r.mu.Unlock()
	if m == nil {
		return res, fmt.Errorf("model %s is not loaded", ref.Name)
	}
	if err := checkEmbedRequest(m, req); err != nil {
		return res, err
	}
	o := inference.EmbedOptions{Threads: r.opts.Threads, ContextLength: r.contextFor(ref, req.NumCtx),
		Pooling: req.Pooling, Truncate: req.Truncate, Dimensions: req.Dimensions}
	if req.Texts != nil {
		res.Inputs, err = m.EmbedTexts(ctx, req.Texts, o)
	} else {
		res.Inputs, err = m.Embed(ctx, req.Tokens, o)
	}
	var long *inference.ErrTooLong
	if errors.As(err, &long) {
		return res, Invalid("input", "input %d is %d tokens, more than the context of %d; set truncate to cut it", long.Index, long.Tokens, long.Context)
	}
	if err != nil {
		return res, fmt.Errorf("embed with %s: %w", ref.Name, err)
	}
	for _, in := range res.Inputs {
		res.PromptTokens += in.Tokens
	}
	res.TotalDuration = time.Since(start)
	return res, nil
}

// checkEmbedRequest refuses, as a bad request, what only the loaded model
// can tell: dimensions past its width, token ids outside its vocabulary, a
// pooling it has no name for.
func checkEmbedRequest(m *inference.Model, req EmbedRequest) error {
	info := m.Info()
	if req.Dimensions > info.EmbeddingSize {
		return Invalid("dimensions", "%d is more than the %d of %s", req.Dimensions, info.EmbeddingSize, info.Name)
	}
	switch req.Pooling {
	case "", "none", "mean", "cls", "last":
	default:
		return Invalid("pooling", "%q is not one of none, mean, cls, last", req.Pooling)
	}
	for i, toks := range req.Tokens {
		for _, t := range toks {
			if t < 0 || int(t) >= info.VocabSize {
				return Invalid("input", "token %d of input %d is outside the vocabulary of %d", t, i, info.VocabSize)
			}
		}
	}
	return nil
}
