package service

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"inferenceruntime/inference"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/grammar"
	"inferenceruntime/inference/sample"
	"inferenceruntime/inference/tokenizer"
)

// GenerateRequest is one completion or one chat turn.
type GenerateRequest struct {
	// Model is the name (or alias, or id) of an installed model.
	Model string
	// Messages, when not nil, are rendered with the model's chat template
	// and the assistant's next message is generated.
	Messages []chattmpl.Message
	// Prompt is used when Messages is nil: as it is when Raw is set or the
	// model has no chat template of its own (a base model), else as a user
	// message after System.
	Prompt string
	System string
	Raw    bool
	// Template overrides the model's chat template: a built-in name
	// ("chatml", "llama3", ...) or Jinja source.
	Template string
	Options  GenerateOptions
	// Tools are function specs in OpenAI's shape ({"type": "function",
	// "function": {...}}), handed to the chat template as its tools.
	Tools []any
	// KeepAlive, when set, is how long the model stays loaded after this
	// request (0 = unload at once, KeepForever = until the runner closes).
	KeepAlive *time.Duration
	// OnLogprobs, when set with Options.Logprobs, receives each token's
	// logprobs before the text that token completes reaches emit.
	OnLogprobs func(inference.Logprobs)
	// Images are image files (PNG, JPEG, GIF, WebP) for a model with a
	// vision projector. Each goes where the prompt (or the messages) has
	// an inference.MediaMarker; images without one go before the prompt's
	// text (the last user message's, in a chat).
	Images [][]byte
}

// GenerateOptions control the generation itself.
type GenerateOptions struct {
	// Sampling chooses tokens; start from sample.DefaultParams(). Seed is
	// used as given: pick one with RandomSeed for varied output.
	Sampling sample.Params
	// MaxTokens caps the reply; 0 = until the context is full.
	MaxTokens int
	// Stop strings end the reply (they are not part of it); the chat
	// template's end-of-turn markers are added for chats.
	Stop []string
	// NumCtx is the context length in tokens; 0 = the runner's default.
	// It never exceeds the model's own.
	NumCtx int
	// Logprobs reports each generated token's log-probability, with the
	// TopLogprobs (0-20) most likely alternatives.
	Logprobs    bool
	TopLogprobs int
	// Grammar, when set, constrains the reply (structured output, forced
	// tool calls).
	Grammar *grammar.Grammar
	// Given names the options the caller set itself, by Ollama's option
	// names (temperature, top_k, num_predict, num_ctx, stop, seed, ...); a
	// custom model's PARAMETERs fill in the others.
	Given map[string]bool
	// Lora sets the scales of the runner's own adapters for this request
	// (unlisted ones off); nil uses their global scales.
	Lora []LoraScale
	// GPULayers is where the model runs for this request (Ollama's num_gpu,
	// as FromNumGPU maps it): GPULayersAuto, GPULayersNone or a number of
	// blocks; nil takes RunnerOptions.GPULayers. A model loaded with
	// another placement is loaded again.
	GPULayers *int
	// UseMmap and UseMlock are Ollama's use_mmap and use_mlock for this
	// request; nil takes RunnerOptions.NoMmap / Mlock. A model loaded
	// otherwise is loaded again, as Ollama does.
	UseMmap, UseMlock *bool
	// Draft turns on speculative decoding: an installed model of the same
	// vocabulary that drafts tokens, DraftLookup for prompt lookup, or
	// DraftNone; "" takes RunnerOptions.Draft. The reply is the same as
	// without.
	Draft string
}

// GenerateResult describes a finished generation.
type GenerateResult struct {
	Model ModelRef
	// Text is the whole reply.
	Text string
	// Stats are the engine's: token counts, durations, rates.
	Stats inference.Stats
	// DoneReason is "stop" (end of turn or a stop string), "length"
	// (MaxTokens or the context's end) or "cancelled".
	DoneReason string
	// Prompt is the text the model was given (the rendered template).
	Prompt string
	// QueueDuration is the wait for a free slot, LoadDuration the time
	// spent loading the model for this request (0 when it was loaded),
	// TotalDuration everything from the call to the end.
	QueueDuration, LoadDuration, TotalDuration time.Duration
	// Logprobs are the generated tokens' when Options.Logprobs asked.
	Logprobs []inference.Logprobs
}

// RandomSeed returns a seed for requests that named none.
func RandomSeed() uint64 { return randomSeed() }

// promptInfo is what preparing a prompt needs of a model, cached so that a
// request can be checked (rendered, tokenized, measured against the
// context) before anything is queued or loaded.
type promptInfo struct {
	tok        *tokenizer.Tokenizer
	ggufTmpl   string // tokenizer.chat_template, "" when none
	arch       string
	tmplSrc    string // the template chats use (the GGUF's or a built-in)
	tmplName   string // "gguf", or the built-in's name
	tmpl       *chattmpl.Template
	tmplErr    error
	stops      []string // end-of-turn markers of tmplSrc in the vocabulary
	bos, eos   string
	file       os.FileInfo // the model file it was read from
	modelCtx   int
	usedRecent time.Time
}

// maxInfos bounds the prompt-info cache (a tokenizer each).
const maxInfos = 8

func newPromptInfo(tok *tokenizer.Tokenizer, arch, ggufTmpl string, file os.FileInfo) *promptInfo {
	has := func(s string) bool { _, ok := tok.TokenID(s); return ok }
	p := &promptInfo{tok: tok, arch: arch, ggufTmpl: ggufTmpl, file: file}
	p.tmplSrc, p.tmplName = chattmpl.ForModel(arch, ggufTmpl, "", has)
	p.tmpl, p.tmplErr = chattmpl.Parse(p.tmplSrc)
	if p.tmplName == "gguf" {
		p.stops = chattmpl.StopStrings(p.tmplSrc, has)
	} else {
		// A model given a built-in format it was not trained on may write
		// the format's end-of-turn marker as plain text: stop there too.
		p.stops = chattmpl.StopStrings(p.tmplSrc, nil)
	}
	if id := tok.BOS(); id >= 0 {
		p.bos = tok.Token(id)
	}
	if id := tok.EOS(); id >= 0 {
		p.eos = tok.Token(id)
	}
	return p
}

// cacheInfoLocked records the prompt info of a model just loaded from
// path (file: its stat before loading), so its tokenizer is not built twice.
func (r *Runner) cacheInfoLocked(path string, file os.FileInfo, m *inference.Model) {
	if p := r.infos[path]; file == nil || p != nil && sameContents(p.file, file) {
		return
	}
	info := m.Info()
	r.putInfoLocked(path, newPromptInfo(m.Tokenizer(), info.Arch, info.ChatTemplate, file))
}

func (r *Runner) putInfoLocked(path string, p *promptInfo) {
	p.usedRecent = time.Now()
	r.infos[path] = p
	for len(r.infos) > maxInfos {
		var oldest string
		for k, v := range r.infos {
			if oldest == "" || v.usedRecent.Before(r.infos[oldest].usedRecent) {
				oldest = k
			}
		}
		delete(r.infos, oldest)
	}
}

// info returns the prompt info of a model, reading only the GGUF header and
// vocabulary when the model is not loaded.
func (r *Runner) info(ref ModelRef) (*promptInfo, error) {
	fi, err := os.Stat(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref.Name, err)
	}
	r.mu.Lock()
	if p := r.infos[ref.Path]; p != nil && sameContents(p.file, fi) {
		p.usedRecent = time.Now()
		r.mu.Unlock()
		return p, nil
	}
	r.mu.Unlock()
	f, err := gguf.Open(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref.Name, err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Name, err)
	}
	tmpl, _ := f.String("tokenizer.chat_template")
	p := newPromptInfo(tok, f.Architecture(), tmpl, fi)
	r.mu.Lock()
	r.putInfoLocked(ref.Path, p)
	r.mu.Unlock()
	return p, nil
}

// render turns a request into the prompt text and the stop strings the
// template adds.
func (p *promptInfo) render(req GenerateRequest) (string, []string, error) {
	msgs := req.Messages
	if msgs == nil {
		if req.Raw || (req.Template == "" && strings.TrimSpace(p.ggufTmpl) == "") {
			return req.Prompt, nil, nil
		}
		if req.System != "" {
			msgs = append(msgs, chattmpl.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, chattmpl.Message{Role: "user", Content: req.Prompt})
	} else if req.System != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		msgs = append([]chattmpl.Message{{Role: "system", Content: req.System}}, msgs...)
	}
	tmpl, src, err := p.tmpl, p.tmplSrc, p.tmplErr
	if req.Template != "" {
		has := func(s string) bool { _, ok := p.tok.TokenID(s); return ok }
		src, _ = chattmpl.ForModel(p.arch, p.ggufTmpl, req.Template, has)
		tmpl, err = chattmpl.Parse(src)
	}
	if err != nil {
		return "", nil, Invalid("template", "the chat template cannot be parsed: %v", err)
	}
	out, err := tmpl.RenderChat(msgs, chattmpl.RenderOptions{AddGenerationPrompt: true, BOS: p.bos, EOS: p.eos, Tools: req.Tools})
	if err != nil {
		return "", nil, Invalid("messages", "rendering the chat template failed: %v", err)
	}
	stops := p.stops
	if req.Template != "" {
		stops = chattmpl.StopStrings(src, func(s string) bool { _, ok := p.tok.TokenID(s); return ok })
	}
	return out, stops, nil
}

// tokens encodes a prompt the way the engine does: BOS as the vocabulary
// asks, control tokens in the text parsed, a doubled BOS (a template that
// writes it, plus the tokenizer's) dropped.
func (p *promptInfo) tokens(text string) ([]int32, error) {
	toks, err := p.tok.Encode(text, true, true)
	if err != nil {
		return nil, fmt.Errorf("tokenize the prompt: %w", err)
	}
	if bos := p.tok.BOS(); len(toks) >= 2 && bos >= 0 && toks[0] == bos && toks[1] == bos {
		toks = toks[1:]
	}
	return toks, nil
}

// prepared is a request checked and tokenized, ready to be queued.
type prepared struct {
	ref    ModelRef
	prompt string
	toks   []int32
	ctx    int
	stops  []string
	opts   GenerateOptions // the request's, with a custom model's parameters
	images [][]byte
}

// prepare checks a request without queueing or loading anything: the
// model exists, the options are sane, the prompt renders and fits the
// context.
func (r *Runner) prepare(ctx context.Context, req GenerateRequest) (*prepared, error) {
	o := req.Options
	switch {
	case o.MaxTokens < 0:
		return nil, Invalid("max_tokens", "%d is negative", o.MaxTokens)
	case o.NumCtx < 0:
		return nil, Invalid("num_ctx", "%d is negative", o.NumCtx)
	case req.Messages == nil && req.Prompt == "":
		return nil, Invalid("prompt", "is empty")
	case req.Messages != nil && len(req.Messages) == 0:
		return nil, Invalid("messages", "is empty")
	}
	for _, s := range o.Stop {
		if s == "" {
			return nil, Invalid("stop", "contains an empty string")
		}
	}
	if err := o.Sampling.Validate(); err != nil {
		return nil, Invalid("sampling", "%v", err)
	}
	ref, err := r.Resolve(ctx, req.Model)
	if err != nil {
		return nil, err
	}
	req = applyCustom(req, ref)
	o = req.Options
	if err := r.checkLora(o.Lora); err != nil {
		return nil, err
	}
	if err := r.checkDraft(ctx, o); err != nil {
		return nil, err
	}
	p, err := r.info(ref)
	if err != nil {
		return nil, err
	}
	if len(req.Images) > 0 {
		if req, err = r.placeImages(ref, req); err != nil {
			return nil, err
		}
	}
	text, stops, err := p.render(req)
	if err != nil {
		return nil, err
	}
	// Images take their tokens when the projector has run; the markers
	// are left out of this first count.
	toks, err := p.tokens(strings.ReplaceAll(text, inference.MediaMarker, ""))
	if err != nil {
		return nil, err
	}
	field := "prompt"
	if req.Messages != nil {
		field = "messages"
	}
	if len(toks) == 0 {
		return nil, Invalid(field, "is empty after tokenization")
	}
	imgToks, err := r.imageTokens(ref, len(req.Images))
	if err != nil {
		return nil, err
	}
	n := r.contextFor(ref, o.NumCtx)
	if len(toks)+imgToks >= n {
		if imgToks > 0 {
			return nil, Invalid(field, "the prompt is %d tokens (%d of them for %d images), which leaves no room in the context of %d tokens",
				len(toks)+imgToks, imgToks, len(req.Images), n)
		}
		return nil, Invalid(field, "the prompt is %d tokens, which leaves no room in the context of %d tokens", len(toks), n)
	}
	all := append(append([]string(nil), o.Stop...), stops...)
	return &prepared{ref: ref, prompt: text, toks: toks, ctx: n, stops: all, opts: o, images: req.Images}, nil
}

// Check validates a request as Generate would, without queueing or loading
// anything, and returns the model it names.
func (r *Runner) Check(ctx context.Context, req GenerateRequest) (ModelRef, error) {
	p, err := r.prepare(ctx, req)
	if err != nil {
		return ModelRef{}, err
	}
	return p.ref, nil
}

// Generate runs one request: it checks it (an *InvalidError or
// ErrModelNotFound when bad), waits for a slot on the model (ErrQueueFull
// when the queue is full), loads the model if needed, and streams the reply
// to emit piece by piece (complete UTF-8 text, never part of a stop
// string). Cancelling ctx stops the generation at once; an error from emit
// stops it too and is returned.
func (r *Runner) Generate(ctx context.Context, req GenerateRequest, emit func(text string) error) (GenerateResult, error) {
	start := time.Now()
	p, err := r.prepare(ctx, req)
	if err != nil {
		return GenerateResult{}, err
	}
	res := GenerateResult{Model: p.ref, Prompt: p.prompt}
	e, err := r.admit(ctx, p.ref, r.loadFor(p.opts))
	if err != nil {
		return res, err
	}
	defer r.release(e, req.KeepAlive)
	res.QueueDuration = time.Since(start)

	loadStart := time.Now()
	wasLoaded := r.isLoaded(e)
	if err := r.load(e); err != nil {
		return res, err
	}
	if !wasLoaded {
		res.LoadDuration = time.Since(loadStart)
	}
	sess, err := r.session(e, p.ctx, p.toks)
	if err != nil {
		return res, err
	}
	ireq := inference.Request{Tokens: p.toks, Sampling: p.opts.Sampling, MaxTokens: p.opts.MaxTokens, Stop: p.stops}
	if len(p.images) > 0 {
		if ireq.Images, err = encodeImages(e.model, p.ref.Name, p.images); err != nil {
			r.putBack(e, sess, true)
			return res, err
		}
		ireq.Tokens, ireq.Prompt = nil, p.prompt
	}
	if ireq.Adapters, err = r.adapterUses(e, p.ref.Adapters, p.opts.Lora); err != nil {
		r.putBack(e, sess, true)
		return res, err
	}
	ireq.Logprobs, ireq.TopLogprobs = req.Options.Logprobs, req.Options.TopLogprobs
	if g := req.Options.Grammar; g != nil {
		c, err := grammar.NewConstraint(g, e.model.Tokenizer())
		if err != nil {
			r.putBack(e, sess, true)
			return res, Invalid("grammar", "%v", err)
		}
		ireq.Constraint = c
	}
	draft, err := r.draftFor(ctx, e, p, &ireq)
	if err != nil {
		r.putBack(e, sess, true)
		return res, err
	}
	defer draft.done()
	var text strings.Builder
	generated := make([]int32, 0, 64)
	stats, err := sess.s.Generate(ctx, ireq, func(t inference.Token) error {
		if t.Logprobs != nil {
			res.Logprobs = append(res.Logprobs, *t.Logprobs)
			if req.OnLogprobs != nil {
				req.OnLogprobs(*t.Logprobs)
			}
		}
		if t.ID >= 0 {
			generated = append(generated, t.ID)
		}
		if t.Text == "" {
			return nil
		}
		text.WriteString(t.Text)
		if emit != nil {
			return emit(t.Text)
		}
		return nil
	})
	sess.tokens = append(append(sess.tokens[:0], p.toks...), generated...)
	if len(p.images) > 0 { // the cache holds image positions p.toks lacks
		sess.tokens = sess.tokens[:0]
	}
	// A cancelled generation leaves a usable cache; an engine error may not.
	r.putBack(e, sess, err == nil || stats.StopReason != "error")
	res.Text, res.Stats, res.DoneReason = text.String(), stats, stats.StopReason
	res.TotalDuration = time.Since(start)
	if err != nil {
		return res, err
	}
	return res, nil
}

// Chat generates the assistant's reply to a conversation; see Generate.
func (r *Runner) Chat(ctx context.Context, model string, msgs []chattmpl.Message, opts GenerateOptions, emit func(text string) error) (GenerateResult, error) {
	if msgs == nil {
		msgs = []chattmpl.Message{}
	}
	return r.Generate(ctx, GenerateRequest{Model: model, Messages: msgs, Options: opts}, emit)
}

func (r *Runner) isLoaded(e *entry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return e.model != nil
}

// Preload loads a model without generating (Ollama's empty-prompt
// request), queueing like any request, and sets its keep-alive.
func (r *Runner) Preload(ctx context.Context, name string, keepAlive *time.Duration) (ModelRef, time.Duration, error) {
	ref, err := r.Resolve(ctx, name)
	if err != nil {
		return ref, 0, err
	}
	e, err := r.admit(ctx, ref, r.loadFor(GenerateOptions{}))
	if err != nil {
		return ref, 0, err
	}
	defer r.release(e, keepAlive)
	start := time.Now()
	wasLoaded := r.isLoaded(e)
	if err := r.load(e); err != nil {
		return ref, 0, err
	}
	if wasLoaded {
		return ref, 0, nil
	}
	return ref, time.Since(start), nil
}

// ModelInfo is what a loaded-or-not model tells about its prompts: its chat
// template and the stop strings chats use.
type ModelInfo struct {
	Ref          ModelRef
	ChatTemplate string // the template chats are rendered with
	FromGGUF     bool   // the template is the model's own, not a built-in
	TemplateName string // "gguf", or the name of the built-in used instead
	Stops        []string
	VocabSize    int
}

// Describe returns a model's prompt information.
func (r *Runner) Describe(ctx context.Context, name string) (ModelInfo, error) {
	ref, err := r.Resolve(ctx, name)
	if err != nil {
		return ModelInfo{}, err
	}
	p, err := r.info(ref)
	if err != nil {
		return ModelInfo{}, err
	}
	return ModelInfo{Ref: ref, ChatTemplate: p.tmplSrc, FromGGUF: strings.TrimSpace(p.ggufTmpl) != "",
		TemplateName: p.tmplName, Stops: p.stops, VocabSize: p.tok.VocabSize()}, nil
}

// CountTokens tokenizes text with a model's tokenizer.
func (r *Runner) CountTokens(ctx context.Context, name, text string) (int, error) {
	ref, err := r.Resolve(ctx, name)
	if err != nil {
		return 0, err
	}
	p, err := r.info(ref)
	if err != nil {
		return 0, err
	}
	toks, err := p.tokens(text)
	return len(toks), err
}
