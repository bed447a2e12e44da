package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"inferenceruntime/inference"
)

// Values of GenerateOptions.Draft and RunnerOptions.Draft that name no model.
const (
	// DraftLookup drafts by prompt lookup: n-grams of the prompt and the
	// reply so far, no second model.
	DraftLookup = "lookup"
	// DraftNone turns speculative decoding off for a request when the
	// runner has a default.
	DraftNone = "none"
)

// draftName is the draft a request asks for, and whether it asked itself
// (else it is the runner's default).
func (r *Runner) draftName(o GenerateOptions) (string, bool) {
	if o.Draft != "" {
		return strings.TrimSpace(o.Draft), true
	}
	return r.opts.Draft, false
}

// checkDraft refuses, before anything is queued, a request that names a
// draft model that is not installed.
func (r *Runner) checkDraft(ctx context.Context, o GenerateOptions) error {
	name, own := r.draftName(o)
	if !own || name == "" || strings.EqualFold(name, DraftLookup) || strings.EqualFold(name, DraftNone) {
		return nil
	}
	_, err := r.Resolve(ctx, name)
	if errors.Is(err, ErrModelNotFound) {
		return Invalid("draft", "no installed model is called %q (a draft model, %q or %q)", name, DraftLookup, DraftNone)
	}
	return err
}

// draftUse is a draft model's session lent to one generation.
type draftUse struct {
	r *Runner
	e *entry
	p *pooled
}

// done gives the session back to the draft model's pool, remembering the
// tokens it holds for the next request's prefix, and lets the model unload.
func (d *draftUse) done() {
	if d == nil {
		return
	}
	d.p.tokens = d.p.s.Tokens()
	d.r.putBack(d.e, d.p, true)
	d.r.unhold(d.e)
}

// draftFor sets req.Draft as the request asks. A draft model is loaded like
// any model (the memory limit counts it) but takes no slot: it runs only
// between its target's steps, and a generation waiting on a second model's
// slot could wait on one that waits on it. The runner's default draft model
// is skipped for models of another vocabulary; one the request names is an
// error there.
func (r *Runner) draftFor(ctx context.Context, target *entry, p *prepared, req *inference.Request) (*draftUse, error) {
	name, own := r.draftName(p.opts)
	switch {
	case name == "" || strings.EqualFold(name, DraftNone):
		return nil, nil
	case strings.EqualFold(name, DraftLookup):
		req.Draft = inference.PromptLookup{}
		return nil, nil
	case len(p.images) > 0: // a draft model cannot follow image positions
		return nil, nil
	case req.Constraint != nil: // the engine drafts nothing under a grammar
		return nil, nil
	}
	ref, err := r.Resolve(ctx, name)
	if err != nil {
		if errors.Is(err, ErrModelNotFound) {
			return nil, Invalid("draft", "no installed model is called %q", name)
		}
		return nil, err
	}
	e, err := r.hold(ref)
	if err != nil {
		return nil, err
	}
	if err := r.load(e); err != nil {
		r.unhold(e)
		return nil, fmt.Errorf("draft model: %w", err)
	}
	r.mu.Lock()
	dm, tm := e.model, target.model
	r.mu.Unlock()
	if dm == nil || tm == nil {
		r.unhold(e)
		return nil, fmt.Errorf("draft model %s was unloaded", ref.Name)
	}
	if err := tm.CheckDraft(dm); err != nil {
		r.unhold(e)
		if !own {
			return nil, nil
		}
		return nil, Invalid("draft", "%s cannot draft for %s: %v", ref.Name, target.ref.Name, err)
	}
	ps, err := r.session(e, r.contextFor(ref, p.ctx), p.toks)
	if err != nil {
		r.unhold(e)
		return nil, err
	}
	req.Draft = ps.s.Drafter()
	return &draftUse{r: r, e: e, p: ps}, nil
}

// hold keeps the entry of ref (made if needed) from unloading, without a
// slot; unhold ends that.
func (r *Runner) hold(ref ModelRef) (*entry, error) {
	fi, err := os.Stat(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", ref.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	want := r.loadFor(GenerateOptions{})
	if e := r.models[ref.Path]; e != nil {
		want = load{layers: e.layers, memory: e.memory} // a draft model runs wherever and however it is loaded
	}
	e := r.entryLocked(ref, fi, want)
	e.users++
	e.stopTimer()
	return e, nil
}

func (r *Runner) unhold(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.users--
	e.lastUsed = time.Now()
	r.idleLocked(e)
}
