package service

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelfile"
	"inferenceruntime/inference"
	"inferenceruntime/inference/kvcache"
)

// Errors of the runner that callers map to their own answers (an HTTP
// status, a CLI message).
var (
	// ErrModelNotFound means no installed model answers to the name.
	ErrModelNotFound = errors.New("model not found")
	// ErrQueueFull means the model's parallel slots and its waiting queue
	// are all taken; the request was not accepted.
	ErrQueueFull = errors.New("server busy: too many requests for this model")
	// ErrNoMemory means the model does not fit the memory limit even after
	// unloading the idle models.
	ErrNoMemory = errors.New("not enough memory to load the model")
	// ErrClosed means the runner is shutting down.
	ErrClosed = errors.New("runner is closed")
)

// InvalidError is a request the runner refuses before queueing or loading
// anything: Field names the offending input ("prompt", "messages",
// "options.num_ctx", ...).
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Invalid returns an *InvalidError.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ModelRef is what the runner needs to know of a model to load it.
type ModelRef struct {
	Name   string // the name it is known by
	ID     string // library id; "" for a file outside the library
	Path   string // GGUF file
	Digest string
	Size   int64 // file size in bytes
	Meta   library.Meta
	// Modified is when the model was added to the library.
	Modified time.Time
	// Custom is a custom model's Modelfile (system prompt, template,
	// parameters, messages), Adapters its LoRA adapters; nil otherwise.
	Custom   *modelfile.File
	Adapters []AdapterRef
	// Projector is the vision projector file the library pairs with the
	// model; "" when it has none there.
	Projector string
}

// ModelResolver finds the model a name means.
type ModelResolver interface {
	ResolveModel(ctx context.Context, name string) (ModelRef, error)
}

// ResolverFunc adapts a function to ModelResolver.
type ResolverFunc func(ctx context.Context, name string) (ModelRef, error)

// ResolveModel calls f.
func (f ResolverFunc) ResolveModel(ctx context.Context, name string) (ModelRef, error) {
	return f(ctx, name)
}

// NewRunner returns a runner over the service's library: only installed
// models, or GGUF file paths too with allowPaths (the CLI).
func (s *Service) NewRunner(allowPaths bool, opts RunnerOptions) *Runner {
	return NewRunner(LibraryResolver(s.Library, allowPaths), opts)
}

// LibraryResolver resolves names through the model library. With
// allowPaths, a GGUF file path outside the library is accepted too (the
// CLI); without it (the HTTP API) only installed models are, so a remote
// client cannot make the server open files by path.
func LibraryResolver(lib *library.Library, allowPaths bool) ModelResolver {
	return ResolverFunc(func(ctx context.Context, name string) (ModelRef, error) {
		if name == "" {
			return ModelRef{}, Invalid("model", "is required")
		}
		// Resolve would also open a file of that path; a remote client must
		// not make the server touch files, so without allowPaths only
		// installed models are looked up (and no use is recorded: no
		// database write per API request).
		resolve := lib.ResolveInstalled
		if allowPaths {
			resolve = lib.Use
		}
		m, err := resolve(ctx, name)
		if errors.Is(err, library.ErrAmbiguous) {
			return ModelRef{}, Invalid("model", "%q matches several models; name one exactly (with its tag, or its id)", name)
		}
		if errors.Is(err, library.ErrNotFound) {
			return ModelRef{}, fmt.Errorf("%w: %q", ErrModelNotFound, name)
		}
		if err != nil {
			return ModelRef{}, err
		}
		m.Name = displayName(m, name)
		ref := RefFromLibrary(m)
		return ref, withCustom(ctx, lib, m, &ref)
	})
}

// displayName is the name a client used when it is one of the model's
// names, else the model's own name (for an id).
func displayName(m *library.Model, asked string) string {
	for _, n := range append([]string{m.Name}, m.Aliases...) {
		if strings.EqualFold(n, asked) {
			return n
		}
	}
	return m.Name
}

// RefFromLibrary converts a library model.
func RefFromLibrary(m *library.Model) ModelRef {
	return ModelRef{Name: m.Name, ID: m.ID, Path: m.Path, Digest: m.Digest, Size: m.Size, Meta: m.Meta, Modified: m.AddedAt,
		Projector: m.Projector}
}

// Keep-alive values with a special meaning.
const (
	// KeepForever keeps a model loaded until the runner closes.
	KeepForever time.Duration = -1
	// DefaultKeepAlive is how long an idle model stays loaded.
	DefaultKeepAlive = 5 * time.Minute
)

// RunnerOptions configure a Runner. Zero values take the defaults.
type RunnerOptions struct {
	Backend string // compute driver; "" = cpu
	// Device is the name of Backend's device ("vulkan1"); "" = its first.
	Device string
	// Threads of a model's compute: with Parallel > 1 all its generations
	// share one batched step loop (continuous batching) on these threads;
	// 0 = all cores.
	Threads int
	// ContextLength is the default context of a session; 0 = 4096, and
	// never more than the model's own.
	ContextLength int
	// Parallel is the number of generations one model runs at once (each
	// with its own session and KV cache, decoded together in one batch per
	// step when more than one); default 2.
	Parallel int
	// PrefixCache is the memory the KV caches of finished generations may
	// keep, so that a later prompt starting with the same tokens (a
	// follow-up turn, a shared system prompt) reuses them; the least
	// recently used go first. With Parallel > 1 on a device that pages its
	// KV cache, it bounds the model's pool of cached blocks, shared by all
	// its generations; otherwise it bounds the idle sessions kept. 0 = 1
	// GiB, negative = no cached blocks, or Parallel idle sessions whatever
	// their size.
	PrefixCache int64
	// Queue is the number of requests per model that may wait for a slot;
	// more are refused at once with ErrQueueFull. Default 4×Parallel;
	// negative = no queue.
	Queue int
	// KeepAlive is how long a model stays loaded after its last request;
	// 0 = DefaultKeepAlive, KeepForever (negative) = until Close. A
	// request's own keep-alive overrides it.
	KeepAlive time.Duration
	// MemoryLimit is the memory loaded models may take (weights plus the
	// KV caches of their slots); 0 = 80% of the memory free at start,
	// negative = no limit.
	MemoryLimit int64
	// MaxLoaded caps the models loaded at once; 0 = 3.
	MaxLoaded int
	// Draft is the speculative decoding of requests that choose none (see
	// GenerateOptions.Draft); a draft model is used only for the models
	// that share its vocabulary.
	Draft string
	// GPULayers is the number of a model's blocks on the GPU:
	// GPULayersAuto (as many as fit), GPULayersNone or a number. A
	// request's GenerateOptions.GPULayers overrides it, loading the model
	// again when that places it elsewhere.
	GPULayers int
	// Warn receives the one line that says a model runs on the CPU
	// because its device failed to take it; nil prints it on stderr.
	Warn func(string)
	// KVType is the sessions' KV cache type (compute.KVTypes: f32, f16,
	// q8_0, q4_0; "" = f32), as OLLAMA_KV_CACHE_TYPE; the memory estimate
	// counts its size.
	KVType string
	// NoMmap and Mlock are Ollama's use_mmap=false and use_mlock for every
	// model loaded (inference.Options).
	NoMmap, Mlock bool
}

func (o RunnerOptions) withDefaults() RunnerOptions {
	if o.ContextLength <= 0 {
		o.ContextLength = 4096
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Queue == 0 {
		o.Queue = 4 * o.Parallel
	}
	if o.Queue < 0 {
		o.Queue = 0
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.PrefixCache == 0 {
		o.PrefixCache = 1 << 30
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.MemoryLimit == 0 {
		if avail, err := library.AvailableMemory(); err == nil && avail > 0 {
			o.MemoryLimit = avail / 10 * 8
		} else {
			o.MemoryLimit = -1
		}
	}
	if o.MaxLoaded <= 0 {
		o.MaxLoaded = 3
	}
	return o
}

// Runner keeps models loaded and runs generations on them: it loads a
// model on first use, serves up to Parallel requests on it at once (each
// with its own session), queues a bounded number more, and unloads models
// after their keep-alive or to make room for another under the memory
// limit (least recently used first). It is safe for concurrent use; the CLI,
// the HTTP API and the desktop app share one.
type Runner struct {
	opts    RunnerOptions
	resolve ModelResolver

	mu      sync.Mutex
	models  map[string]*entry // by file path
	infos   map[string]*promptInfo
	closed  bool
	waiting int // requests waiting for a slot, all models
	running int // requests holding a slot, all models
	loras   []LoraAdapter
	// projectors pairs model files with vision projector files (SetProjector).
	projectors map[string]string
}

// entry is one model the runner knows: its admission slots, and its loaded
// weights and idle sessions when loaded. Fields other than slots are
// guarded by Runner.mu.
type entry struct {
	ref   ModelRef
	slots chan struct{} // one token per running generation

	users   int // requests between admission and release (running or waiting)
	waiting int

	model    *inference.Model
	file     os.FileInfo   // the file as it was loaded
	stale    bool          // the file changed since: unload when idle, admit no one
	loading  chan struct{} // closed when a load ends; nil when none started
	loadErr  error
	loadTime time.Duration
	mem      int64 // memory estimate while loaded (or loading)
	// layers is the GPU layer count asked for (GPULayersAuto, None or N),
	// placed the options it was loaded with (once loading starts).
	layers   int
	memory   memoryMode // how its file is held in memory
	placed   inference.Options
	idle     []*pooled
	adapters entryAdapters

	lastUsed  time.Time
	keepAlive time.Duration
	expires   time.Time // zero: never
	timer     *time.Timer
}

// pooled is an idle session with the tokens it was last given, used to pick
// the session whose cache best matches a new prompt.
type pooled struct {
	s      *inference.Session
	ctx    int
	tokens []int32
}

// NewRunner returns a runner that finds models with resolve.
func NewRunner(resolve ModelResolver, opts RunnerOptions) *Runner {
	return &Runner{opts: opts.withDefaults(), resolve: resolve,
		models: map[string]*entry{}, infos: map[string]*promptInfo{}}
}

// Options returns the runner's effective options.
func (r *Runner) Options() RunnerOptions { return r.opts }

// Resolve finds the model a name means (ErrModelNotFound when none).
func (r *Runner) Resolve(ctx context.Context, name string) (ModelRef, error) {
	if name == "" {
		return ModelRef{}, Invalid("model", "is required")
	}
	return r.resolve.ResolveModel(ctx, name)
}

// memoryMode is how a model's file is held: Ollama's use_mmap=false
// (read into memory) and use_mlock (locked in RAM).
type memoryMode struct{ noMmap, mlock bool }

// load is how a request wants its model loaded.
type load struct {
	layers int // GPU layers (GPULayersAuto, None or N)
	memory memoryMode
}

// loadFor is the load o asks for, the runner's options where o is silent.
func (r *Runner) loadFor(o GenerateOptions) load {
	l := load{layers: r.opts.GPULayers, memory: memoryMode{noMmap: r.opts.NoMmap, mlock: r.opts.Mlock}}
	if o.GPULayers != nil {
		l.layers = *o.GPULayers
	}
	if o.UseMmap != nil {
		l.memory.noMmap = !*o.UseMmap
	}
	if o.UseMlock != nil {
		l.memory.mlock = *o.UseMlock
	}
	return l
}

// admit reserves a slot on the model, waiting in its queue if all slots are
// busy; ErrQueueFull when the queue is full too. A model loaded otherwise
// than want (placed on other GPU layers, mapped or locked otherwise) is
// loaded again, as after a change of its file.
func (r *Runner) admit(ctx context.Context, ref ModelRef, want load) (*entry, error) {
	fi, err := os.Stat(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", ref.Name, err)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	e := r.entryLocked(ref, fi, want)
	select {
	case e.slots <- struct{}{}:
		e.users++
		r.running++
		e.stopTimer()
		r.mu.Unlock()
		return e, nil
	default:
	}
	if waiting := e.waiting; waiting >= r.opts.Queue {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w (%d running, %d waiting)", ErrQueueFull, r.opts.Parallel, waiting)
	}
	e.waiting++
	e.users++
	r.waiting++
	e.stopTimer()
	r.mu.Unlock()

	select {
	case e.slots <- struct{}{}:
		r.mu.Lock()
		e.waiting--
		r.waiting--
		r.running++
		r.mu.Unlock()
		return e, nil
	case <-ctx.Done():
		r.mu.Lock()
		e.waiting--
		r.waiting--
		e.users--
		r.idleLocked(e)
		r.mu.Unlock()
		return nil, ctx.Err()
	}
}

// entryLocked is the entry of ref, made anew when there is none, the file
// (fi now) changed since it was loaded, or the model is loaded otherwise
// than want.
func (r *Runner) entryLocked(ref ModelRef, fi os.FileInfo, want load) *entry {
	e := r.models[ref.Path]
	if e != nil && e.file != nil && (!sameContents(e.file, fi) || !r.placedLikeLocked(e, want.layers) || e.memory != want.memory) {
		r.retireLocked(e)
		e = nil
	}
	if e == nil {
		e = &entry{ref: ref, slots: make(chan struct{}, r.opts.Parallel), keepAlive: r.opts.KeepAlive, layers: want.layers, memory: want.memory}
		r.models[ref.Path] = e
	}
	return e
}

// release gives the slot back and starts the keep-alive clock when the
// model has no more users.
func (r *Runner) release(e *entry, keepAlive *time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	<-e.slots
	e.users--
	r.running--
	e.lastUsed = time.Now()
	if keepAlive != nil {
		e.keepAlive = *keepAlive
	}
	r.idleLocked(e)
}

// placedLikeLocked reports whether e's model (loaded or loading) is where
// layers GPU layers put it: it was asked for with the same count, or
// placing it now gives the options it was loaded with (num_gpu 0 for a
// model on the CPU changes nothing).
func (r *Runner) placedLikeLocked(e *entry, layers int) bool {
	if e.layers == layers {
		return true
	}
	want := r.place(e.ref, layers).Options
	if e.model != nil && want.Backend == "cpu" && e.model.Info().Device == "cpu" {
		return true // also a model that fell back to the CPU
	}
	return want == e.placed
}

// place is where the runner puts ref's model with layers GPU layers.
func (r *Runner) place(ref ModelRef, layers int) Placement {
	return Place(ref.Meta, ref.Size, r.contextFor(ref, 0)*r.opts.Parallel, r.opts.Backend, r.opts.Device, layers)
}

// sameContents reports whether two stats of a model file show the same
// contents: a file rewritten in place keeps its path (and often its inode)
// but not its size and modification time.
func sameContents(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// retireLocked takes an entry whose file changed out of service: new
// requests get a fresh entry that loads the file again, and the old model
// (whose memory mapping now shows other bytes, or ends early) is unloaded as
// soon as its running requests end.
func (r *Runner) retireLocked(e *entry) {
	e.stale = true
	if r.models[e.ref.Path] == e {
		delete(r.models, e.ref.Path)
	}
	if e.users == 0 {
		r.unloadLocked(e)
	}
}

// idleLocked schedules the unload of an entry without users, or forgets an
// entry that never loaded.
func (r *Runner) idleLocked(e *entry) {
	if e.users > 0 {
		return
	}
	if e.stale && e.model != nil {
		r.unloadLocked(e)
		return
	}
	if e.model == nil && e.loading == nil {
		if r.models[e.ref.Path] == e {
			delete(r.models, e.ref.Path)
		}
		return
	}
	if e.model == nil {
		return // still loading: the loader calls idleLocked again
	}
	switch {
	case e.keepAlive < 0:
		e.expires = time.Time{}
	case e.keepAlive == 0 || r.closed:
		r.unloadLocked(e)
	default:
		e.expires = time.Now().Add(e.keepAlive)
		// The callback checks that its timer is still the current one: a
		// timer that fired while a newer request was being admitted must
		// not unload the model early. (It cannot run before the
		// assignment: it needs r.mu, held here.)
		var tm *time.Timer
		tm = time.AfterFunc(e.keepAlive, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if e.timer == tm && e.users == 0 && e.model != nil {
				r.unloadLocked(e)
			}
		})
		e.timer = tm
	}
}

func (e *entry) stopTimer() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.expires = time.Time{}
}

// unloadLocked closes the idle sessions and the model of an entry without
// users and forgets it.
func (r *Runner) unloadLocked(e *entry) {
	e.stopTimer()
	for _, p := range e.idle {
		p.s.Close()
	}
	e.idle = nil
	e.adapters.close()
	if e.model != nil {
		e.model.Close()
		e.model = nil
	}
	e.loading = nil
	if r.models[e.ref.Path] == e {
		delete(r.models, e.ref.Path)
	}
}

// estimate is the memory a model takes loaded with Parallel sessions of
// ctx tokens: the weights once, KV cache and buffers per session.
func (r *Runner) estimate(ref ModelRef, ctx int) int64 {
	f, err := library.EstimateFitKV(ref.Meta, ref.Size, int64(ctx), r.opts.KVType, -1)
	if err != nil { // an unknown type fails the first session; count f32 meanwhile
		f = library.EstimateFit(ref.Meta, ref.Size, int64(ctx), 4, -1)
	}
	return f.Weights + int64(r.opts.Parallel)*(f.KVCache+f.Buffers)
}

// load makes sure e's model is loaded, loading it (once, whoever asks
// first) after unloading idle models to make room.
func (r *Runner) load(e *entry) error {
	r.mu.Lock()
	if e.model != nil {
		r.mu.Unlock()
		return nil
	}
	if e.loading != nil {
		done := e.loading
		r.mu.Unlock()
		<-done
		r.mu.Lock()
		defer r.mu.Unlock()
		if e.model == nil {
			if e.loadErr != nil {
				return e.loadErr
			}
			return fmt.Errorf("model %s was unloaded while loading", e.ref.Name)
		}
		return nil
	}
	if err := r.checkFits(e.ref, r.contextFor(e.ref, 0)); err != nil {
		r.mu.Unlock()
		return err
	}
	mem := r.estimate(e.ref, r.contextFor(e.ref, 0))
	if err := r.makeRoomLocked(e, mem); err != nil {
		r.mu.Unlock()
		return err
	}
	done := make(chan struct{})
	e.loading, e.loadErr, e.mem = done, nil, mem
	e.file, _ = os.Stat(e.ref.Path) // before the mapping: a change after it is seen
	place := r.place(e.ref, e.layers)
	e.placed = place.Options
	r.mu.Unlock()

	start := time.Now()
	place.Options.Threads = r.opts.Threads
	place.Options.NoMmap, place.Options.Mlock = e.memory.noMmap, e.memory.mlock
	place.Options.PrefixCache = r.opts.PrefixCache
	m, err := inference.Load(e.ref.Path, place.Options)
	if err == nil {
		warnFallback(r.opts.Warn, e.ref.Name, m.Info())
		if err = r.attachProjector(e.ref, m); err != nil {
			m.Close()
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	e.loadTime = time.Since(start)
	if err != nil {
		e.loadErr = fmt.Errorf("load %s: %w", e.ref.Name, err)
		e.loading = nil
	} else if r.closed {
		m.Close()
		e.loadErr = ErrClosed
		e.loading = nil
	} else {
		e.model = m
		r.cacheInfoLocked(e.ref.Path, e.file, m)
	}
	close(done)
	return e.loadErr
}

// makeRoomLocked unloads idle models, least recently used first, until
// need more bytes and one more model fit the limits.
func (r *Runner) makeRoomLocked(e *entry, need int64) error {
	for {
		var used int64
		count := 0
		var idle []*entry
		for _, o := range r.models {
			if o == e || (o.model == nil && o.loading == nil) {
				continue
			}
			used += o.mem
			count++
			if o.users == 0 && o.model != nil {
				idle = append(idle, o)
			}
		}
		fits := (r.opts.MemoryLimit < 0 || used+need <= r.opts.MemoryLimit) && count < r.opts.MaxLoaded
		if fits {
			return nil
		}
		if count == 0 {
			// Alone and still over the limit: the estimate is generous
			// (every slot's whole context), so try anyway.
			return nil
		}
		if len(idle) == 0 {
			return fmt.Errorf("%w: %s needs about %d MiB and the %d loaded models are busy (limit %d MiB, %d models)",
				ErrNoMemory, e.ref.Name, need>>20, count, r.opts.MemoryLimit>>20, r.opts.MaxLoaded)
		}
		sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
		r.unloadLocked(idle[0])
	}
}

// contextFor is the session context for a request that asked for want
// tokens (0 = the default), never more than the model was trained for.
func (r *Runner) contextFor(ref ModelRef, want int) int {
	n := r.opts.ContextLength
	if want > 0 {
		n = want
	}
	if mc := int(ref.Meta.ContextLength); mc > 0 && n > mc {
		n = mc
	}
	return n
}

// session takes the idle session whose cache shares the longest prefix
// with toks, or opens a new one.
func (r *Runner) session(e *entry, ctxLen int, toks []int32) (*pooled, error) {
	r.mu.Lock()
	best, bestLen := -1, -1
	for i, p := range e.idle {
		if p.ctx != ctxLen {
			continue
		}
		if n := kvcache.CommonPrefix(p.tokens, toks); n > bestLen {
			best, bestLen = i, n
		}
	}
	if best >= 0 {
		p := e.idle[best]
		e.idle = slices.Delete(e.idle, best, best+1)
		r.mu.Unlock()
		return p, nil
	}
	m := e.model
	r.mu.Unlock()
	if m == nil {
		return nil, fmt.Errorf("model %s is not loaded", e.ref.Name)
	}
	s, err := m.NewSession(inference.SessionOptions{ContextLength: ctxLen, Threads: r.opts.Threads, Batched: r.opts.Parallel > 1, KVType: r.opts.KVType})
	if err != nil {
		return nil, fmt.Errorf("open session on %s: %w", e.ref.Name, err)
	}
	return &pooled{s: s, ctx: ctxLen}, nil
}

// putBack returns a session to the pool, or closes it when the pool is
// full, the model was unloaded meanwhile, or the session failed.
func (r *Runner) putBack(e *entry, p *pooled, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A session whose blocks are the model's pool leaves them cached
	// there when closed: the pool, not the idle list, is the prefix cache.
	if !ok || e.model == nil || r.closed || p.s.SharesPrefixes() {
		p.s.Close()
		return
	}
	e.idle = append(e.idle, p)
	r.trimIdleLocked(e)
}

// Unload unloads the model a name means, now or as soon as its running
// requests end. It reports whether the model was loaded.
func (r *Runner) Unload(ctx context.Context, name string) (bool, error) {
	ref, err := r.Resolve(ctx, name)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.models[ref.Path]
	if e == nil || (e.model == nil && e.loading == nil) {
		return false, nil
	}
	e.keepAlive = 0
	if e.users == 0 {
		r.unloadLocked(e)
	}
	return true, nil
}

// LoadedModel describes a model in memory.
type LoadedModel struct {
	Ref       ModelRef
	Memory    int64     // estimate, bytes
	ExpiresAt time.Time // zero: never, or not while in use
	Running   int       // generations in progress
	Waiting   int       // requests queued
	Sessions  int       // idle sessions kept for prefix reuse (none where the KV pool keeps prefixes)
	LoadTime  time.Duration
	// Device is where the model runs ("cpu", "vulkan0", "vulkan0+cpu"),
	// GPULayers of its Layers blocks on a GPU, with VRAM bytes of weights.
	Device            string
	GPULayers, Layers int
	VRAM              int64
}

// Loaded lists the models in memory, most recently used first.
func (r *Runner) Loaded() []LoadedModel {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LoadedModel
	for _, e := range r.models {
		if e.model == nil {
			continue
		}
		info := e.model.Info()
		out = append(out, LoadedModel{Ref: e.ref, Memory: e.mem, ExpiresAt: e.expires,
			Running: len(e.slots), Waiting: e.waiting, Sessions: len(e.idle), LoadTime: e.loadTime,
			Device: info.Device, GPULayers: info.GPULayers, Layers: info.Layers, VRAM: info.VRAM})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.Name < out[j].Ref.Name })
	return out
}

// Load counts: requests running and waiting over all models.
func (r *Runner) Load() (running, waiting int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running, r.waiting
}

// Close unloads every model once its running requests end and refuses new
// ones.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, e := range r.models {
		if e.users == 0 {
			r.unloadLocked(e)
		}
	}
	return nil
}

// randomSeed picks a seed for a request that named none.
func randomSeed() uint64 { return rand.Uint64() }
