// Package inference is the public face of the engine: load a GGUF model
// once, open any number of independent sessions on it, and generate text
// token by token.
//
//	m, err := inference.Load("model.gguf", inference.Options{Threads: 4})
//	s, err := m.NewSession(inference.SessionOptions{})
//	stats, err := s.Generate(ctx, inference.Request{Prompt: "Once upon a time", MaxTokens: 100},
//		func(t inference.Token) error { fmt.Print(t.Text); return nil })
//
// A Model is safe for concurrent use; a Session is not, but sessions of
// one model run independently (each has its own KV cache and backend).
package inference

import (
	"context"
	"fmt"
	"sync"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/engine"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/model"
	"inferenceruntime/inference/tokenizer"
	"inferenceruntime/inference/vision"

	// The architectures and backends this package can run.
	_ "inferenceruntime/inference/compute/cpu"
	_ "inferenceruntime/inference/compute/vulkan"
	_ "inferenceruntime/inference/model/gemma"
	_ "inferenceruntime/inference/model/llama"
	_ "inferenceruntime/inference/model/phi3"
	_ "inferenceruntime/inference/model/qwen3"
)

// Request, Token and Stats are the engine's types; see package engine.
type (
	// Request is one generation: a prompt (text or tokens), sampling
	// parameters, a token limit and stop strings.
	Request = engine.Request
	// Token is one piece of streamed output.
	Token = engine.Token
	// Stats describe one generation: token counts, rates, time to first
	// token and the stop reason.
	Stats = engine.Stats
)

// Options configure Load.
type Options struct {
	// Backend is the compute driver; "" means "cpu".
	Backend string
	// Device is the name of Backend's device to use (as `ir devices`
	// lists it, e.g. "vulkan1"); "" means its first.
	Device string
	// Threads is the default CPU thread count of sessions; 0 = all cores.
	Threads int
	// ContextLength is the default context of sessions; 0 = the model's.
	ContextLength int
	// GPULayers, when Backend is not the CPU, puts only the model's last
	// GPULayers blocks (weights and KV cache) on its device, and the rest,
	// the token embedding and the output head on the CPU, as llama.cpp's
	// --n-gpu-layers does. 0, or more than the model has, places it whole.
	GPULayers int
	// Fallback loads the model on the CPU when Backend's device fails to
	// take it; Info().Warning then says why.
	Fallback bool
	// NoMmap reads the file into memory instead of mapping it (Ollama's
	// use_mmap=false), Mlock locks its pages in RAM (use_mlock); see
	// gguf.LoadOptions. A refused lock leaves the model loaded and
	// unlocked, and Info().Warning says why.
	NoMmap, Mlock bool
	// PrefixCache is the most bytes of KV cache blocks that finished
	// batched sessions leave for later prompts starting with the same
	// tokens (on a device that pages its KV cache, see
	// Session.SharesPrefixes); the least recently used go first. 0 = 1 GiB,
	// negative = none.
	PrefixCache int64
}

// SessionOptions configure NewSession; zero fields take the model's
// Options.
type SessionOptions struct {
	Threads       int
	ContextLength int
	// BatchSize is the number of prompt tokens per step; 0 = 512.
	BatchSize int
	// KVType is the KV cache type: "f32" (default), "f16", "q8_0" or "q4_0"
	// (compute.KVTypes). The quantized types need a head size that is a
	// multiple of 32 and a device that attends over them (the CPU).
	KVType string
	// Batched runs the session's evaluations in steps shared with the
	// model's other batched sessions (continuous batching: one pass over
	// the weights per step for all of them), on the model's one backend
	// with Options.Threads; Threads is then unused.
	Batched bool
}

// Info is a model's metadata for callers.
type Info struct {
	Path          string
	Arch          string // general.architecture
	Name          string // general.name
	ContextLength int    // the model's trained context length
	VocabSize     int
	EmbeddingSize int
	Layers        int
	Heads         int
	KVHeads       int
	ChatTemplate  string // tokenizer.chat_template, "" if none
	FileSize      int64
	Device        string
	// GPULayers is the number of blocks on a device other than the CPU,
	// and VRAM the bytes of weights there.
	GPULayers int
	VRAM      int64
	// Warning says why the model runs on the CPU instead of the device
	// asked for (Options.Fallback); "" when it runs where asked.
	Warning string
}

// Model is a loaded model: the mapped file, the weights on a device and the
// tokenizer. It is immutable and safe for concurrent use.
type Model struct {
	path string
	opts Options
	file *gguf.File
	net  model.Model
	tok  *tokenizer.Tokenizer
	dev  compute.Device

	placed  placed // what a device besides the CPU holds
	warning string // why the model fell back to the CPU

	mu       sync.Mutex
	vision   *vision.Projector // AttachProjector; nil for a text-only model
	sessions int
	closing  bool
	closed   bool
	batcher  *engine.Batcher // of the batched sessions, opened with the first
}

// Load maps the GGUF file at path, validates it and places its weights on
// the backend's first device.
func Load(path string, opts Options) (*Model, error) {
	if opts.Threads < 0 || opts.ContextLength < 0 {
		return nil, fmt.Errorf("inference: negative option in %+v", opts)
	}
	if opts.Backend == "" {
		opts.Backend = "cpu"
	}
	if !opts.Fallback {
		// Without a fallback an unknown backend fails before the file is read.
		if _, err := compute.FirstDevice(opts.Backend); err != nil {
			return nil, fmt.Errorf("inference: %w", err)
		}
	}
	f, err := gguf.OpenWith(path, gguf.LoadOptions{NoMmap: opts.NoMmap, Mlock: opts.Mlock})
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inference: %s: %w", path, err)
	}
	net, dev, placed, warning, err := openNet(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inference: %s: %w", path, err)
	}
	if tok.VocabSize() != net.Config().VocabSize {
		net.Close()
		closeDevice(dev)
		f.Close()
		return nil, fmt.Errorf("inference: %s: tokenizer has %d tokens, the model %d", path, tok.VocabSize(), net.Config().VocabSize)
	}
	if err := f.LockError(); err != nil {
		if warning != "" {
			warning += "; "
		}
		warning += err.Error()
	}
	return &Model{path: path, opts: opts, file: f, net: net, tok: tok, dev: dev, placed: placed, warning: warning}, nil
}

// Info returns the model's metadata.
func (m *Model) Info() Info {
	c := m.net.Config()
	tmpl, _ := m.file.String("tokenizer.chat_template")
	return Info{
		Path: m.path, Arch: c.Arch, Name: c.Name, ContextLength: c.ContextLength,
		VocabSize: c.VocabSize, EmbeddingSize: c.EmbeddingLength, Layers: c.BlockCount,
		Heads: c.HeadCount, KVHeads: c.HeadCountKV, ChatTemplate: tmpl,
		FileSize: m.file.Size(), Device: m.dev.Name(),
		GPULayers: m.placed.layers, VRAM: m.placed.bytes, Warning: m.warning,
	}
}

// Tokenizer returns the model's tokenizer (safe for concurrent use).
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// File returns the parsed GGUF file, for its metadata. Do not close it.
func (m *Model) File() *gguf.File { return m.file }

// Config returns the model's hyper-parameters.
func (m *Model) Config() model.Config { return *m.net.Config() }

// Close releases the model once its sessions are closed; sessions still
// open keep it alive until their own Close.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closing = true
	return m.releaseLocked()
}

func (m *Model) releaseLocked() error {
	if !m.closing || m.sessions > 0 || m.closed {
		return nil
	}
	m.closed = true
	var err error
	if m.batcher != nil {
		err = m.batcher.Close()
	}
	if e := m.net.Close(); err == nil {
		err = e
	}
	if e := closeDevice(m.dev); err == nil {
		err = e
	}
	if m.vision != nil {
		if e := m.vision.Close(); err == nil {
			err = e
		}
	}
	if e := m.file.Close(); err == nil {
		err = e
	}
	return err
}

// Session is one conversation with a model: a KV cache and a compute
// stream of its own. Tokens of the previous Generate that match the start
// of the next prompt are reused. A Session is not safe for concurrent use.
type Session struct {
	m   *Model
	seq *engine.Sequence
	mu  sync.Mutex
}

// NewSession opens a session with an empty cache.
func (m *Model) NewSession(o SessionOptions) (*Session, error) {
	if o.Threads == 0 {
		o.Threads = m.opts.Threads
	}
	if o.ContextLength == 0 {
		o.ContextLength = m.opts.ContextLength
	}
	kv, err := compute.ParseKVType(o.KVType)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return nil, fmt.Errorf("inference: model %s is closed", m.path)
	}
	so := engine.SequenceOptions{Threads: o.Threads, Context: o.ContextLength, BatchSize: o.BatchSize, KVType: kv}
	var seq *engine.Sequence
	if o.Batched {
		if m.batcher == nil {
			if m.batcher, err = engine.NewBatcher(m.net, m.dev, engine.BatcherOptions{Threads: m.opts.Threads, PrefixCache: m.opts.PrefixCache}); err != nil {
				return nil, fmt.Errorf("inference: %w", err)
			}
		}
		seq, err = engine.NewBatchedSequence(m.batcher, so)
	} else {
		seq, err = engine.NewSequence(m.net, m.dev, so)
	}
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	m.sessions++
	return &Session{m: m, seq: seq}, nil
}

// Generate streams a reply to req, calling fn once per generated token.
// It stops on an end-of-generation token, a stop string, MaxTokens, the end
// of the context (reason "length"), ctx's cancellation or fn's error.
func (s *Session) Generate(ctx context.Context, req Request, fn func(Token) error) (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return Stats{}, fmt.Errorf("inference: session is closed")
	}
	return s.seq.Generate(ctx, s.m.tok, req, fn)
}

// Logits evaluates tokens after what the session holds and returns one row
// of n_vocab logits per token.
func (s *Session) Logits(ctx context.Context, tokens []int32) ([]float32, error) {
	return s.eval(ctx, tokens, true)
}

// Eval evaluates tokens after what the session holds and returns the
// logits of the last one.
func (s *Session) Eval(ctx context.Context, tokens []int32) ([]float32, error) {
	return s.eval(ctx, tokens, false)
}

// Feed evaluates tokens after what the session holds, like Eval, but
// returns no logits: it saves a copy of n_vocab floats per call (600 KB for
// a 150k vocabulary), which in a loop of single tokens was most of the
// garbage the collector had to chase.
func (s *Session) Feed(ctx context.Context, tokens []int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.evalLocked(ctx, tokens, false)
	return err
}

func (s *Session) eval(ctx context.Context, tokens []int32, all bool) ([]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.evalLocked(ctx, tokens, all)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), out...), nil
}

// evalLocked runs the tokens; the logits it returns are the sequence's own,
// overwritten by the next call.
func (s *Session) evalLocked(ctx context.Context, tokens []int32, all bool) ([]float32, error) {
	if s.seq == nil {
		return nil, fmt.Errorf("inference: session is closed")
	}
	out, err := s.seq.Eval(ctx, tokens, all)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return out, nil
}

// Len is the number of tokens the session's cache holds.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return 0
	}
	return s.seq.Len()
}

// ContextLength is the most tokens the session can hold.
func (s *Session) ContextLength() int { return s.seq.ContextLength() }

// CacheBytes is the memory the session's KV cache holds now.
func (s *Session) CacheBytes() int64 { return s.seq.CacheBytes() }

// Reset empties the session's cache.
func (s *Session) Reset() { s.Truncate(0) }

// Truncate keeps the first n tokens of the session's cache (all of them
// where it holds fewer): a benchmark goes back to a filled context without
// filling it again.
func (s *Session) Truncate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq != nil {
		s.seq.Truncate(n)
	}
}

// SharesPrefixes reports whether the session's KV cache is a table of
// blocks of the model's pool (a batched session on a device with paged
// attention): then a later session whose prompt starts with tokens this one
// held reuses them, even after Close, and keeping the session open for
// that gains nothing.
func (s *Session) SharesPrefixes() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq != nil && s.seq.SharesPrefixes()
}

// Close frees the session's cache and backend.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq == nil {
		return nil
	}
	err := s.seq.Close()
	s.seq = nil
	s.m.mu.Lock()
	s.m.sessions--
	if e := s.m.releaseLocked(); err == nil {
		err = e
	}
	s.m.mu.Unlock()
	return err
}
