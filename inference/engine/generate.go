package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"inferenceruntime/inference/kvcache"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/sample"
	"inferenceruntime/inference/tokenizer"
)

// Request is one generation.
type Request struct {
	// Prompt is tokenized with the model's BOS and with special tokens
	// parsed (so a rendered chat template works). Ignored when Tokens is set.
	Prompt string
	// Tokens is the prompt as token ids, used exactly as given.
	Tokens []int32
	// Sampling chooses each next token.
	Sampling sample.Params
	// MaxTokens caps the generated tokens; 0 means until the context is full.
	MaxTokens int
	// Stop ends generation when the output contains one of these strings;
	// the stop string itself is not emitted.
	Stop []string
	// Adapters are the LoRA adapters applied for this request, with their
	// scales; changing them between requests empties the cache.
	Adapters []model.AdapterUse
	// Constraint, when set, limits the reply to what it allows (a grammar
	// or JSON schema); a reply it cannot finish in the tokens left is an
	// error rather than a truncated text.
	Constraint Constraint
	// Logprobs asks for each token's Logprobs, with the TopLogprobs most
	// likely alternatives (0 to sample.MaxTopLogprobs).
	Logprobs    bool
	TopLogprobs int
	// Images are the images of the prompt, one per MediaMarker in Prompt,
	// in order. Their vectors take one position each and count toward the
	// context.
	Images []Image
	// Draft, when set, drafts tokens that the model checks several at a
	// time (speculative decoding: PromptLookup, ModelDrafter); the output
	// is the same as without. Up to DraftMax per step (0 =
	// DefaultDraftMax). Not used with a Constraint.
	Draft    Drafter
	DraftMax int
}

// Token is one piece of streamed output.
type Token struct {
	// ID is the generated token, or -1 for the final piece of text that was
	// held back (a possible stop-string prefix, or an incomplete UTF-8
	// sequence) and is released when generation ends.
	ID int32
	// Text is the text this token completes; it may be empty while a
	// multi-byte character or a possible stop string is pending.
	Text string
	// Logprobs is set when Request.Logprobs asked for it (not on ID -1).
	Logprobs *Logprobs
}

// Logprobs are a sampled token's log-probability and the most likely
// alternatives, under the distribution the sampler chose from (see
// sample.Sampler.Logprobs): after constraints and penalties.
type Logprobs struct {
	Token Logprob
	Top   []Logprob
}

// Logprob is a token, its text (bytes; possibly part of a character) and
// its natural-log probability.
type Logprob struct {
	ID      int32
	Text    string
	Logprob float32
}

// Stop reasons reported in Stats.StopReason.
const (
	StopEOG       = "stop"      // the model produced an end-of-generation token
	StopString    = "stop"      // the output hit one of Request.Stop
	StopLength    = "length"    // MaxTokens generated, or the context is full
	StopCancelled = "cancelled" // ctx was cancelled, or the callback returned an error
)

// Stats describe one generation.
type Stats struct {
	PromptTokens    int           // tokens of the prompt
	CachedTokens    int           // prompt tokens reused from the cache (not evaluated again)
	GeneratedTokens int           // tokens sampled, the end-of-generation token not counted
	PrefillDuration time.Duration // evaluating the prompt
	DecodeDuration  time.Duration // evaluating generated tokens
	TimeToFirst     time.Duration // from the call to the first token
	PrefillRate     float64       // prompt tokens evaluated per second
	DecodeRate      float64       // generated tokens per second
	StopReason      string        // StopEOG/StopString ("stop"), StopLength, StopCancelled
	DraftedTokens   int           // tokens drafted for speculative decoding
	AcceptedTokens  int           // drafted tokens the model agreed with (generated without a step of their own)
}

// Generate continues the sequence with req's prompt and streams the reply
// to emit, one call per sampled token. Tokens already in the cache that
// match the start of the prompt are reused. It returns the statistics, with
// ctx's error when cancelled or emit's error when the callback failed.
func (s *Sequence) Generate(ctx context.Context, tok *tokenizer.Tokenizer, req Request, emit func(Token) error) (Stats, error) {
	start := time.Now()
	if s.batcher != nil { // steps need not wait for this sequence once it is done
		defer s.batcher.release(s)
	}
	var st Stats
	prompt := req.Tokens
	var spans []imageSpan
	if len(req.Images) > 0 {
		if req.Tokens != nil {
			return st, fmt.Errorf("engine: images need a text prompt with markers, not token ids")
		}
		var err error
		if prompt, spans, err = buildPrompt(tok, req.Prompt, req.Images); err != nil {
			return st, err
		}
	} else if prompt == nil {
		var err error
		if prompt, err = tok.Encode(req.Prompt, true, true); err != nil {
			return st, fmt.Errorf("engine: tokenizing the prompt: %w", err)
		}
		// A rendered chat template often starts with the BOS text itself;
		// the tokenizer then added a second one.
		if bos := tok.BOS(); len(prompt) >= 2 && bos >= 0 && prompt[0] == bos && prompt[1] == bos {
			prompt = prompt[1:]
		}
	}
	if len(prompt) == 0 {
		return st, fmt.Errorf("engine: the prompt is empty")
	}
	if req.MaxTokens < 0 {
		return st, fmt.Errorf("engine: MaxTokens %d is negative", req.MaxTokens)
	}
	if err := req.Sampling.Validate(); err != nil {
		return st, fmt.Errorf("engine: sampling: %w", err)
	}
	if req.TopLogprobs < 0 || req.TopLogprobs > sample.MaxTopLogprobs {
		return st, fmt.Errorf("engine: %d top logprobs (0 to %d)", req.TopLogprobs, sample.MaxTopLogprobs)
	}
	st.PromptTokens = len(prompt)
	if len(prompt) > s.ContextLength() {
		return st, fmt.Errorf("prompt of %d tokens does not fit the context of %d", len(prompt), s.ContextLength())
	}

	// Reuse the cached prefix, but always evaluate at least the last prompt
	// token: its logits choose the first reply token.
	s.SetAdapters(req.Adapters)
	keep := kvcache.CommonPrefix(s.tokens, prompt)
	keep = keepBefore(min(keep, len(prompt)-1), spans)
	s.Truncate(keep)
	keep = s.adoptPrefix(prompt, keep)
	st.CachedTokens = keep

	sampler := sample.New(req.Sampling)
	for _, t := range prompt {
		if t >= 0 { // image placeholders are not tokens to penalise
			sampler.Accept(t)
		}
	}
	logits, err := s.evalPrompt(ctx, prompt, keep, spans, req.Images)
	st.PrefillDuration = time.Since(start)
	if err != nil {
		return s.finish(st, StopCancelled, err)
	}

	out := newStopFilter(tok, req.Stop)
	decodeStart := time.Now()
	spec := newSpeculation(req, s.m.Config().VocabSize)
	var hist []int32 // the prompt and the reply so far, for drafting
	if spec != nil {
		hist = slices.Clone(prompt)
		defer func() { spec.drop(s) }() // the cache keeps only tokens of the reply
	}
	for {
		var dist *sample.Distribution
		if req.Logprobs { // before pick advances the constraint
			dist = sampler.Logprobs(logits, allower(req.Constraint), req.TopLogprobs)
		}
		id, err := s.pick(sampler, logits, req, st.GeneratedTokens)
		if err != nil {
			return s.finishText(st, StopCancelled, err, out, emit, decodeStart)
		}
		next, drafted := spec.check(s, id)
		if spec != nil {
			hist = append(hist, id)
			st.DraftedTokens, st.AcceptedTokens = spec.drafted, spec.accepted
		}
		sampler.Accept(id)
		if tok.IsEOG(id) {
			return s.finishText(st, StopEOG, nil, out, emit, decodeStart)
		}
		st.GeneratedTokens++
		text, hit := out.add(id)
		if st.GeneratedTokens == 1 {
			st.TimeToFirst = time.Since(start)
		}
		if text != "" || !hit {
			if err := emit(Token{ID: id, Text: text, Logprobs: logprobsOf(tok, dist, id)}); err != nil {
				return s.finishText(st, StopCancelled, err, nil, emit, decodeStart)
			}
		}
		if hit {
			return s.finishText(st, StopString, nil, nil, emit, decodeStart)
		}
		used := s.Len() - spec.pendingCount() // the reply's tokens in the cache, id not counted
		if drafted {
			used--
		}
		if req.MaxTokens > 0 && st.GeneratedTokens >= req.MaxTokens || used >= s.ContextLength() {
			return s.finishText(st, StopLength, nil, out, emit, decodeStart)
		}
		if drafted { // id was drafted and is in the cache: its logits came with it
			logits = next
			continue
		}
		room := s.ContextLength()
		if req.MaxTokens > 0 {
			room = req.MaxTokens - st.GeneratedTokens
		}
		if logits, err = spec.eval(ctx, s, hist, id, room); err != nil {
			return s.finishText(st, StopCancelled, err, out, emit, decodeStart)
		}
	}
}

// logprobsOf reports id's logprobs under dist (nil when not asked for).
func logprobsOf(tok *tokenizer.Tokenizer, dist *sample.Distribution, id int32) *Logprobs {
	if dist == nil {
		return nil
	}
	out := &Logprobs{Token: Logprob{ID: id, Text: tok.Piece(id), Logprob: dist.Logprob(id)}}
	for _, t := range dist.Top() {
		out.Top = append(out.Top, Logprob{ID: t.ID, Text: tok.Piece(t.ID), Logprob: t.Logprob})
	}
	return out
}

// allower is c as the sampler's Logprobs takes it (nil stays nil).
func allower(c Constraint) sample.Allower {
	if c == nil {
		return nil
	}
	return c
}

// finishText releases held-back text (when out is set), then the stats.
func (s *Sequence) finishText(st Stats, reason string, err error, out *stopFilter, emit func(Token) error, decodeStart time.Time) (Stats, error) {
	st.DecodeDuration = time.Since(decodeStart)
	if out != nil {
		if rest := out.flush(); rest != "" {
			if e := emit(Token{ID: -1, Text: rest}); e != nil && err == nil {
				err, reason = e, StopCancelled
			}
		}
	}
	return s.finish(st, reason, err)
}

func (s *Sequence) finish(st Stats, reason string, err error) (Stats, error) {
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && reason == StopCancelled {
		reason = "error"
	}
	st.StopReason = reason
	if sec := st.PrefillDuration.Seconds(); sec > 0 {
		st.PrefillRate = float64(st.PromptTokens-st.CachedTokens) / sec
	}
	// The first token comes from the prefill's logits; the rest from decode steps.
	if sec := st.DecodeDuration.Seconds(); sec > 0 && st.GeneratedTokens > 1 {
		st.DecodeRate = float64(st.GeneratedTokens-1) / sec
	}
	return st, err
}

// stopFilter turns tokens into text that never contains half a UTF-8
// character nor any part of a stop string: text that could still become a
// stop string is held back until it cannot.
type stopFilter struct {
	dec     *tokenizer.StreamDecoder
	stops   []string
	pending string
}

func newStopFilter(tok *tokenizer.Tokenizer, stops []string) *stopFilter {
	f := &stopFilter{dec: tok.NewStreamDecoder()}
	for _, s := range stops {
		if s != "" {
			f.stops = append(f.stops, s)
		}
	}
	return f
}

// add decodes id and returns the text that is now safe to emit, and whether
// a stop string was completed (the text is then what precedes it).
func (f *stopFilter) add(id int32) (string, bool) {
	f.pending += f.dec.Add(id)
	if cut := f.firstStop(); cut >= 0 {
		text := f.pending[:cut]
		f.pending = ""
		return text, true
	}
	hold := f.heldSuffix()
	text := f.pending[:len(f.pending)-hold]
	f.pending = f.pending[len(f.pending)-hold:]
	return text, false
}

// firstStop is the index of the earliest stop string in pending, or -1.
func (f *stopFilter) firstStop() int {
	cut := -1
	for _, s := range f.stops {
		if i := strings.Index(f.pending, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	return cut
}

// heldSuffix is the length of the longest end of pending that is the start
// of some stop string.
func (f *stopFilter) heldSuffix() int {
	best := 0
	for _, s := range f.stops {
		for n := min(len(s)-1, len(f.pending)); n > best; n-- {
			if strings.HasSuffix(f.pending, s[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

// flush returns everything still held back.
func (f *stopFilter) flush() string {
	f.pending += f.dec.Flush()
	if cut := f.firstStop(); cut >= 0 {
		f.pending = f.pending[:cut]
	}
	rest := f.pending
	f.pending = ""
	return rest
}
