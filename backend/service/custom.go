package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"inferenceruntime/backend/library"
	"inferenceruntime/backend/modelfile"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/gguf"
)

// CreateOptions control CreateModel.
type CreateOptions struct {
	// AllowPaths lets FROM and ADAPTER name files on this machine (the CLI
	// and the desktop app). Without it (the HTTP API) they may only name
	// installed models and blobs ("sha256:<hex>"), so a remote client can
	// never make the server read a file by path.
	AllowPaths bool
}

// BlobRef is how a Modelfile names a blob of the store: FROM or ADAPTER
// "sha256:<hex>" (what Ollama's /api/create "files" and "adapters" carry).
func BlobRef(digest string) string { return "sha256:" + digest }

// blobDigest returns the digest of a "sha256:<hex>" (or "sha256-<hex>")
// reference.
func blobDigest(ref string) (string, bool) {
	for _, p := range []string{"sha256:", "sha256-"} {
		if d, ok := strings.CutPrefix(ref, p); ok && library.ValidDigest(d) {
			return d, true
		}
	}
	return "", false
}

// CreateModel makes the custom model name from a Modelfile: a new library
// entry on its base's file (a .gguf FROM is copied into the store first)
// with its own settings and adapters. Every part is checked before anything
// is recorded; a mistake is an *InvalidError naming the Modelfile line, and
// leaves nothing behind. FROM a custom model inherits its settings and
// adapters, which the Modelfile's own extend or override.
func (s *Service) CreateModel(ctx context.Context, name string, f *modelfile.File, opts CreateOptions) (*library.Model, error) {
	if err := library.ValidateName(name); err != nil {
		return nil, Invalid("model", "%v", err)
	}
	line := func(key string) string {
		if n, ok := f.Lines[key]; ok {
			return fmt.Sprintf("Modelfile line %d", n)
		}
		return key
	}
	var made []string // blobs this call stored, dropped again on failure
	ok := false
	defer func() {
		if !ok {
			for _, d := range made {
				s.Library.ReleaseBlob(ctx, d)
			}
		}
	}()
	store := func(path string) (string, error) {
		d, created, err := s.Library.ImportBlob(ctx, path)
		if created {
			made = append(made, d)
		}
		return d, err
	}

	base, err := s.createBase(ctx, f.From, opts, store)
	if err != nil {
		return nil, Invalid(line("FROM"), "FROM %s: %v", f.From, err)
	}
	settings := *f
	var adapters []library.AdapterBlob
	if inherited, ads, err := s.Library.Custom(ctx, base); err != nil {
		return nil, err
	} else if inherited != nil {
		settings = inherit(*inherited, *f)
		adapters = ads
	}
	if t := f.Template; t != nil {
		if err := checkTemplate(*t); err != nil {
			return nil, Invalid(line("TEMPLATE"), "TEMPLATE: %v", err)
		}
	}
	for i, a := range f.Adapters {
		where := line(fmt.Sprintf("ADAPTER %d", i))
		path, err := s.adapterPath(a.Path, opts)
		if err != nil {
			return nil, Invalid(where, "ADAPTER %s: %v", a.Path, err)
		}
		if err := checkAdapterFits(path, base.Path); err != nil {
			return nil, Invalid(where, "ADAPTER %s: %v", a.Path, err)
		}
		d, ok := blobDigest(a.Path)
		if !ok {
			if d, err = store(path); err != nil {
				return nil, Invalid(where, "ADAPTER %s: %v", a.Path, err)
			}
		}
		adapters = append(adapters, library.AdapterBlob{Digest: d, Scale: a.Scale})
	}
	m, err := s.Library.CreateCustom(ctx, library.CustomSpec{Name: name, Base: base, From: f.From,
		Settings: settings, Adapters: adapters})
	if errors.Is(err, library.ErrNameTaken) || errors.Is(err, library.ErrBadName) {
		return nil, Invalid("model", "%v", err)
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

// createBase finds the model FROM names: a blob, an installed model, or
// (with AllowPaths) a GGUF file, which is copied into the store.
func (s *Service) createBase(ctx context.Context, from string, opts CreateOptions, store func(string) (string, error)) (*library.Model, error) {
	if d, ok := blobDigest(from); ok {
		return s.Library.BlobModel(d)
	}
	m, err := s.Library.ResolveInstalled(ctx, from)
	if err == nil || !errors.Is(err, library.ErrNotFound) || errors.Is(err, library.ErrAmbiguous) {
		return m, err
	}
	if !opts.AllowPaths {
		return nil, fmt.Errorf("no installed model of that name")
	}
	if _, err := os.Stat(from); err != nil {
		return nil, fmt.Errorf("neither an installed model nor a file: %w", err)
	}
	d, err := store(from)
	if err != nil {
		return nil, err
	}
	return s.Library.BlobModel(d)
}

// adapterPath is the file an ADAPTER names: a blob, or a file path when
// paths are allowed.
func (s *Service) adapterPath(ref string, opts CreateOptions) (string, error) {
	if d, ok := blobDigest(ref); ok {
		return s.Library.BlobPath(d)
	}
	if !opts.AllowPaths {
		return "", fmt.Errorf("this server takes adapters as uploaded blobs (sha256:<hex>), not file paths")
	}
	if _, err := os.Stat(ref); err != nil {
		return "", err
	}
	return ref, nil
}

// inherit lays a Modelfile over the settings of the custom model it is
// made from: parameters merge (its own win), its system prompt and
// template replace, its messages replace when it has any, licenses add up.
func inherit(base, f modelfile.File) modelfile.File {
	out := base
	out.From, out.Lines, out.Adapters = f.From, f.Lines, nil
	out.Parameters.Merge(f.Parameters)
	if f.System != nil {
		out.System = f.System
	}
	if f.Template != nil {
		out.Template = f.Template
	}
	if len(f.Messages) > 0 {
		out.Messages = f.Messages
	}
	out.License = append(append([]string(nil), base.License...), f.License...)
	return out
}

// goTemplate spots Ollama's Go templates: {{ .Prompt }}, {{ if .System }},
// {{ range .Messages }}, {{ end }}; Jinja has no leading-dot names.
var goTemplate = regexp.MustCompile(`\{\{-?\s*(\.[A-Za-z]|(if|range|with)\s+[.$]|end\s*-?\}\}|template\s|define\s|block\s)`)

// checkTemplate accepts a Jinja chat template we can run.
func checkTemplate(src string) error {
	if goTemplate.MatchString(src) && !strings.Contains(src, "{%") {
		return errors.New("this is a Go template (Ollama's own format), which this runtime cannot run; " +
			"write it in Jinja, as models' tokenizer.chat_template are (for example {% for m in messages %}{{ m.content }}{% endfor %})")
	}
	if _, err := chattmpl.Parse(src); err != nil {
		return fmt.Errorf("the Jinja template does not parse: %w", err)
	}
	return nil
}

// checkAdapterFile checks that path is a LoRA adapter in llama.cpp's GGUF
// format.
func checkAdapterFile(path string) error {
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return adapterKind(f)
}

func adapterKind(f *gguf.File) error {
	if typ, _ := f.String("general.type"); typ != "adapter" {
		return fmt.Errorf("general.type is %q, not \"adapter\": not a LoRA adapter file", typ)
	}
	if typ, _ := f.String("adapter.type"); typ != "lora" {
		return fmt.Errorf("adapter.type is %q; only \"lora\" adapters are supported", typ)
	}
	return nil
}

// checkAdapterFits checks a LoRA adapter against its base model's file
// without loading either: the same architecture, and for every pair a
// weight of the base whose shape fits. (Loading checks again, fully.)
func checkAdapterFits(adapterPath, basePath string) error {
	a, err := gguf.Open(adapterPath)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := adapterKind(a); err != nil {
		return err
	}
	b, err := gguf.Open(basePath)
	if err != nil {
		return fmt.Errorf("base model: %w", err)
	}
	defer b.Close()
	if aa, ba := a.Architecture(), b.Architecture(); aa != ba {
		return fmt.Errorf("made for architecture %q, the base model is %q", aa, ba)
	}
	weights := map[string][]uint64{}
	for _, t := range b.Tensors {
		weights[t.Name] = t.Dims
	}
	for _, t := range a.Tensors {
		name, half, ok := strings.Cut(t.Name, ".lora_")
		if !ok || (half != "a" && half != "b") {
			return fmt.Errorf("tensor %s is not a .lora_a or .lora_b tensor", t.Name)
		}
		w, ok := weights[name]
		if !ok {
			return fmt.Errorf("tensor %s targets %s, which the base model does not have", t.Name, name)
		}
		if len(w) != 2 || len(t.Dims) != 2 {
			return fmt.Errorf("tensor %s %v does not fit %s %v", t.Name, t.Dims, name, w)
		}
		if (half == "a" && t.Dims[0] != w[0]) || (half == "b" && t.Dims[1] != w[1]) {
			return fmt.Errorf("tensor %s %v does not fit %s %v", t.Name, t.Dims, name, w)
		}
	}
	return nil
}

// Modelfile returns the Modelfile of an installed model: a custom model's
// recipe (its adapters as blob files), or just FROM for any other.
func (s *Service) Modelfile(ctx context.Context, name string) (string, error) {
	m, err := s.Library.Find(ctx, name)
	if err != nil {
		return "", err
	}
	f, _, err := s.Library.Custom(ctx, m)
	if err != nil {
		return "", err
	}
	if f == nil {
		f = &modelfile.File{From: m.Name}
	}
	return modelfile.Format(f), nil
}

// withCustom fills a resolved model's custom settings and adapters.
func withCustom(ctx context.Context, lib *library.Library, m *library.Model, ref *ModelRef) error {
	f, ads, err := lib.Custom(ctx, m)
	if err != nil || f == nil {
		return err
	}
	ref.Custom = f
	for _, a := range ads {
		ref.Adapters = append(ref.Adapters, AdapterRef{Path: a.Path, Scale: a.Scale})
	}
	return nil
}

// checkLora checks a request's adapter scales against the runner's
// adapters.
func (r *Runner) checkLora(scales []LoraScale) error {
	r.mu.Lock()
	n := len(r.loras)
	r.mu.Unlock()
	return checkLoraScales(scales, n)
}

// applyCustom applies a custom model's settings to a request: its
// template and system prompt unless the request has its own, its messages
// before the conversation, and its parameters where the caller set none.
func applyCustom(req GenerateRequest, ref ModelRef) GenerateRequest {
	c := ref.Custom
	if c == nil {
		return req
	}
	if req.Template == "" && c.Template != nil {
		req.Template = *c.Template
	}
	if !req.Raw {
		hasSystem := req.System != "" || len(req.Messages) > 0 && req.Messages[0].Role == "system"
		if !hasSystem && c.System != nil {
			req.System = *c.System
		}
		if len(c.Messages) > 0 {
			msgs := req.Messages
			if msgs == nil {
				msgs = []chattmpl.Message{{Role: "user", Content: req.Prompt}}
				req.Prompt = ""
			}
			var lead []chattmpl.Message
			if len(msgs) > 0 && msgs[0].Role == "system" {
				lead, msgs = msgs[:1], msgs[1:]
			}
			out := append([]chattmpl.Message(nil), lead...)
			for _, m := range c.Messages {
				out = append(out, chattmpl.Message{Role: m.Role, Content: m.Content})
			}
			req.Messages = append(out, msgs...)
		}
	}
	req.Options = applyParameters(req.Options, c.Parameters)
	return req
}

// applyParameters sets the options the caller did not give from a custom
// model's parameters.
func applyParameters(o GenerateOptions, ps modelfile.Parameters) GenerateOptions {
	free := func(name string) bool { return !o.Given[name] }
	sp := &o.Sampling
	f32 := func(name string, dst *float32, v *float64) {
		if v != nil && free(name) {
			*dst = float32(*v)
		}
	}
	f32("temperature", &sp.Temperature, ps.Temperature)
	f32("top_p", &sp.TopP, ps.TopP)
	f32("min_p", &sp.MinP, ps.MinP)
	f32("repeat_penalty", &sp.RepeatPenalty, ps.RepeatPenalty)
	f32("presence_penalty", &sp.PresencePenalty, ps.PresencePenalty)
	f32("frequency_penalty", &sp.FrequencyPenalty, ps.FrequencyPenalty)
	if ps.TopK != nil && free("top_k") {
		sp.TopK = *ps.TopK
	}
	if ps.RepeatLastN != nil && free("repeat_last_n") {
		sp.RepeatLastN = *ps.RepeatLastN
	}
	if ps.Seed != nil && *ps.Seed >= 0 && free("seed") {
		sp.Seed = uint64(*ps.Seed)
	}
	if ps.NumPredict != nil && free("num_predict") {
		o.MaxTokens = max(0, *ps.NumPredict)
	}
	if ps.NumCtx != nil && free("num_ctx") {
		o.NumCtx = *ps.NumCtx
	}
	if ps.NumGPU != nil && free("num_gpu") {
		layers := FromNumGPU(*ps.NumGPU)
		o.GPULayers = &layers
	}
	if len(ps.Stop) > 0 && free("stop") {
		o.Stop = ps.Stop
	}
	return o
}

// ModelRef describes an installed model for a runner, with a custom
// model's settings and adapters.
func (s *Service) ModelRef(ctx context.Context, m *library.Model) (ModelRef, error) {
	ref := RefFromLibrary(m)
	return ref, withCustom(ctx, s.Library, m, &ref)
}
