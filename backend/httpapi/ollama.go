package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"inferenceruntime/backend/buildinfo"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/sample"
)

// ollamaOptions is the "options" object of Ollama requests. Options this
// server does not use (num_thread, mirostat, ...) are accepted and ignored,
// as Ollama does with options that do not apply.
type ollamaOptions struct {
	Temperature      *float64 `json:"temperature"`
	TopK             *int     `json:"top_k"`
	TopP             *float64 `json:"top_p"`
	MinP             *float64 `json:"min_p"`
	RepeatPenalty    *float64 `json:"repeat_penalty"`
	RepeatLastN      *int     `json:"repeat_last_n"`
	PresencePenalty  *float64 `json:"presence_penalty"`
	FrequencyPenalty *float64 `json:"frequency_penalty"`
	Seed             *int64   `json:"seed"`
	NumPredict       *int     `json:"num_predict"`
	NumCtx           *int     `json:"num_ctx"`
	NumGPU           *int     `json:"num_gpu"` // layers on the GPU: -1 as many as fit, 0 none
	// UseMmap false reads the model into memory instead of mapping it,
	// UseMlock locks it in RAM; a model loaded otherwise loads again.
	UseMmap  *bool    `json:"use_mmap"`
	UseMlock *bool    `json:"use_mlock"`
	Stop     stopList `json:"stop"`
	// Draft is ollamaCommon.Draft given among the options.
	Draft string `json:"draft"`
}

func (o ollamaOptions) params() params {
	return params{temperature: o.Temperature, topP: o.TopP, minP: o.MinP, repeatPenalty: o.RepeatPenalty,
		presence: o.PresencePenalty, frequency: o.FrequencyPenalty, topK: o.TopK, repeatLastN: o.RepeatLastN,
		maxTokens: o.NumPredict, numCtx: o.NumCtx, numGPU: o.NumGPU, seed: o.Seed, stop: o.Stop,
		useMmap: o.UseMmap, useMlock: o.UseMlock}
}

// ollamaCommon are the fields /api/generate and /api/chat share.
type ollamaCommon struct {
	Model   string          `json:"model"`
	Stream  *bool           `json:"stream"`
	Format  json.RawMessage `json:"format"`
	Options ollamaOptions   `json:"options"`
	// Grammar is GBNF, as llama-server takes it.
	Grammar     string    `json:"grammar"`
	KeepAlive   keepAlive `json:"keep_alive"`
	Logprobs    bool      `json:"logprobs"`
	TopLogprobs *int      `json:"top_logprobs"`
	// Lora sets the server's adapter scales for this request, as
	// llama-server's "lora" field: [{"id": 0, "scale": 0.5}].
	Lora []service.LoraScale `json:"lora"`
	// Draft chooses speculative decoding: a draft model's name, "lookup"
	// or "none"; options.draft says the same.
	Draft string `json:"draft"`
}

// logprobs collects each token's logprobs for the response when the
// request asks for them: stream chunks take those of their tokens, the
// final message the rest (or all of them, not streamed).
func (c ollamaCommon) logprobs(sreq *service.GenerateRequest) func(service.GenerateResult, bool) []tokenLogprob {
	lps := &logprobsCollector{}
	if sreq.Options.Logprobs {
		sreq.OnLogprobs = lps.add
	}
	return func(res service.GenerateResult, final bool) []tokenLogprob {
		switch {
		case !sreq.Options.Logprobs:
			return nil
		case final && !c.streaming():
			return tokenLogprobs(res.Logprobs)
		}
		return tokenLogprobs(lps.take())
	}
}

func (c ollamaCommon) streaming() bool { return c.Stream == nil || *c.Stream }

// options converts the request's options with Ollama's defaults.
func (c ollamaCommon) options() (service.GenerateOptions, error) {
	on, top, err := logprobsWanted(c.Logprobs, c.TopLogprobs, "top_logprobs")
	if err != nil {
		return service.GenerateOptions{}, err
	}
	o, err := c.Options.params().options(ollamaFields, sample.DefaultParams(), 100, -2)
	o.Logprobs, o.TopLogprobs, o.Lora, o.Draft = on, top, c.Lora, c.Draft
	if o.Draft == "" {
		o.Draft = c.Options.Draft
	}
	return o, err
}

type ollamaGenerateRequest struct {
	ollamaCommon
	Prompt   string   `json:"prompt"`
	Suffix   string   `json:"suffix"`
	System   string   `json:"system"`
	Template string   `json:"template"`
	Raw      bool     `json:"raw"`
	Images   []string `json:"images"`
}

type ollamaMessage struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Images    []string         `json:"images,omitempty"`
	ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	ToolName  string           `json:"tool_name,omitempty"`
	Thinking  string           `json:"thinking,omitempty"`
}

type ollamaToolCall struct {
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type ollamaChatRequest struct {
	ollamaCommon
	Messages []ollamaMessage `json:"messages"`
	Tools    []rawTool       `json:"tools"`
}

// ollamaStats are the timing fields of Ollama's final message, in
// nanoseconds.
type ollamaStats struct {
	TotalDuration      int64 `json:"total_duration"`
	LoadDuration       int64 `json:"load_duration"`
	PromptEvalCount    int   `json:"prompt_eval_count"`
	PromptEvalDuration int64 `json:"prompt_eval_duration"`
	EvalCount          int   `json:"eval_count"`
	EvalDuration       int64 `json:"eval_duration"`
	// PromptEvalCachedCount is Ollama's count of the prompt tokens read
	// from the cache rather than evaluated; prompt_eval_count includes
	// them, as Ollama's does.
	PromptEvalCachedCount int `json:"prompt_eval_cached_count,omitempty"`
	// DraftCount and DraftAcceptedCount are the tokens speculative
	// decoding drafted, and those the model agreed with.
	DraftCount         int `json:"draft_count,omitempty"`
	DraftAcceptedCount int `json:"draft_accepted_count,omitempty"`
}

func statsOf(res service.GenerateResult) ollamaStats {
	return ollamaStats{
		TotalDuration: res.TotalDuration.Nanoseconds(), LoadDuration: res.LoadDuration.Nanoseconds(),
		PromptEvalCount: res.Stats.PromptTokens, PromptEvalDuration: res.Stats.PrefillDuration.Nanoseconds(),
		EvalCount: res.Stats.GeneratedTokens, EvalDuration: res.Stats.DecodeDuration.Nanoseconds(),
		PromptEvalCachedCount: res.Stats.CachedTokens,
		DraftCount:            res.Stats.DraftedTokens, DraftAcceptedCount: res.Stats.AcceptedTokens,
	}
}

type ollamaGenerateResponse struct {
	Model      string         `json:"model"`
	CreatedAt  string         `json:"created_at"`
	Response   string         `json:"response"`
	Done       bool           `json:"done"`
	DoneReason string         `json:"done_reason,omitempty"`
	Logprobs   []tokenLogprob `json:"logprobs,omitempty"`
	*ollamaStats
}

type ollamaChatResponse struct {
	Model      string         `json:"model"`
	CreatedAt  string         `json:"created_at"`
	Message    ollamaMessage  `json:"message"`
	Done       bool           `json:"done"`
	DoneReason string         `json:"done_reason,omitempty"`
	Logprobs   []tokenLogprob `json:"logprobs,omitempty"`
	*ollamaStats
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func (s *Server) handleOllamaGenerate(w http.ResponseWriter, r *http.Request) {
	var req ollamaGenerateRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	opts, err := req.options()
	switch {
	case err != nil:
	case req.Suffix != "":
		err = badRequest("suffix", "fill-in-the-middle (suffix) is not supported by this server")
	case req.Template != "":
		err = badRequest("template", "template overrides are not supported; the model's chat template is used (or set raw)")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Prompt == "" && req.System == "" {
		s.loadOrUnload(w, r, req.ollamaCommon, func(reason string) any {
			return ollamaGenerateResponse{Model: req.Model, CreatedAt: now(), Done: true, DoneReason: reason}
		})
		return
	}
	sreq := service.GenerateRequest{Model: req.Model, Prompt: req.Prompt, System: req.System, Raw: req.Raw,
		Options: opts, KeepAlive: req.KeepAlive.ptr()}
	for i, s64 := range req.Images {
		data, err := decodeImage(fmt.Sprintf("images[%d]", i), s64)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sreq.Images = append(sreq.Images, data)
	}
	if _, err := s.ollamaStructured(r, req.Format, req.Grammar, nil, &sreq); err != nil {
		s.fail(w, r, err)
		return
	}
	lps := req.logprobs(&sreq)
	chunk := func(text string) any {
		return ollamaGenerateResponse{Model: req.Model, CreatedAt: now(), Response: text, Logprobs: lps(service.GenerateResult{}, false)}
	}
	final := func(res service.GenerateResult, text string) any {
		st := statsOf(res)
		return ollamaGenerateResponse{Model: req.Model, CreatedAt: now(), Response: text, Done: true,
			DoneReason: res.DoneReason, Logprobs: lps(res, true), ollamaStats: &st}
	}
	s.ollamaRun(w, r, sreq, req.streaming(), chunk, final)
}

func (s *Server) handleOllamaChat(w http.ResponseWriter, r *http.Request) {
	var req ollamaChatRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	opts, err := req.options()
	var msgs []chattmpl.Message
	if err == nil {
		msgs, err = ollamaMessages(req.Messages)
	}
	var images [][]byte
	if err == nil {
		images, err = ollamaChatImages(req.Messages, msgs)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(msgs) == 0 {
		s.loadOrUnload(w, r, req.ollamaCommon, func(reason string) any {
			return ollamaChatResponse{Model: req.Model, CreatedAt: now(), Message: ollamaMessage{Role: "assistant"},
				Done: true, DoneReason: reason}
		})
		return
	}
	sreq := service.GenerateRequest{Model: req.Model, Messages: msgs, Options: opts, KeepAlive: req.KeepAlive.ptr(), Images: images}
	ts, err := s.ollamaStructured(r, req.Format, req.Grammar, req.Tools, &sreq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hold := &holder{ts: ts}
	lps := req.logprobs(&sreq)
	chunk := func(text string) any {
		if text = hold.add(text); text == "" {
			return nil
		}
		return ollamaChatResponse{Model: req.Model, CreatedAt: now(), Message: ollamaMessage{Role: "assistant", Content: text},
			Logprobs: lps(service.GenerateResult{}, false)}
	}
	final := func(res service.GenerateResult, text string) any {
		st := statsOf(res)
		msg := ollamaMessage{Role: "assistant", Content: text}
		if text != "" { // the whole reply, not streamed
			content, calls := ts.split(text)
			msg.Content, msg.ToolCalls = content, ollamaCalls(calls)
		} else if rest, calls := hold.finish(); rest != "" || len(calls) > 0 {
			msg.Content, msg.ToolCalls = rest, ollamaCalls(calls)
		}
		return ollamaChatResponse{Model: req.Model, CreatedAt: now(), Message: msg,
			Done: true, DoneReason: res.DoneReason, Logprobs: lps(res, true), ollamaStats: &st}
	}
	s.ollamaRun(w, r, sreq, req.streaming(), chunk, final)
}

// chatRoles are the message roles chat templates know.
var chatRoles = []string{"system", "user", "assistant", "tool"}

func ollamaMessages(in []ollamaMessage) ([]chattmpl.Message, error) {
	out := make([]chattmpl.Message, 0, len(in))
	for i, m := range in {
		field := fmt.Sprintf("messages[%d]", i)
		if !isOneOf(m.Role, chatRoles) {
			return nil, badRequest(field+".role", "%q is not one of %s", m.Role, strings.Join(chatRoles, ", "))
		}
		cm := chattmpl.Message{Role: m.Role, Content: m.Content, ReasoningContent: m.Thinking, Name: m.ToolName}
		for _, tc := range m.ToolCalls {
			cm.ToolCalls = append(cm.ToolCalls, chattmpl.ToolCall{Name: tc.Function.Name, Arguments: string(tc.Function.Arguments)})
		}
		out = append(out, cm)
	}
	return out, nil
}

func isOneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// loadOrUnload answers Ollama's empty requests: with keep_alive 0 they
// unload the model, otherwise they load it.
func (s *Server) loadOrUnload(w http.ResponseWriter, r *http.Request, c ollamaCommon, reply func(reason string) any) {
	note(w).model = c.Model
	if c.KeepAlive.set && c.KeepAlive.d == 0 {
		if _, err := s.runner.Unload(r.Context(), c.Model); err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, reply("unload"))
		return
	}
	if _, _, err := s.runner.Preload(r.Context(), c.Model, c.KeepAlive.ptr()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply("load"))
}

// ollamaRun generates and answers: NDJSON chunks then a final message with
// the statistics, or one JSON object.
func (s *Server) ollamaRun(w http.ResponseWriter, r *http.Request, req service.GenerateRequest, stream bool,
	chunk func(string) any, final func(service.GenerateResult, string) any) {
	var st *streamer
	if stream {
		st = newStreamer(w, false, s.cfg.WriteTimeout)
	}
	res, err := s.generate(w, r, req, st, chunk)
	if err != nil {
		s.failStream(w, r, st, err)
		return
	}
	if st != nil {
		st.send(final(res, ""))
		return
	}
	writeJSON(w, http.StatusOK, final(res, res.Text))
}

// generate runs a request on the runner, streaming through st when set,
// and records it for the log and the metrics.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, req service.GenerateRequest, st *streamer, chunk func(string) any) (service.GenerateResult, error) {
	rw := note(w)
	rw.model, rw.stream = req.Model, st != nil
	var emit func(string) error
	if st != nil {
		emit = func(text string) error {
			// A chunk may be held back (text that may be a tool call).
			if c := chunk(text); c != nil {
				return st.send(c)
			}
			return nil
		}
	}
	res, err := s.runner.Generate(r.Context(), req, emit)
	rw.promptTok, rw.genTok, rw.doneReason = res.Stats.PromptTokens, res.Stats.GeneratedTokens, res.DoneReason
	if errors.Is(err, errClientGone) {
		rw.doneReason = "cancelled"
	}
	if res.Model.Name != "" {
		s.metrics.generation(res)
	}
	if errors.Is(err, service.ErrQueueFull) {
		s.metrics.reject("queue_full")
	} else if errors.Is(err, service.ErrNoMemory) {
		s.metrics.reject("memory")
	}
	return res, err
}

// fail answers an error in the request's dialect.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeAPIError(w, r, classify(err, dialectOf(r)))
}

// failStream reports an error: as the status when nothing was sent yet,
// else as a last message in the stream (the status is gone by then).
func (s *Server) failStream(w http.ResponseWriter, r *http.Request, st *streamer, err error) {
	if st == nil || !st.started {
		s.fail(w, r, err)
		return
	}
	e := classify(err, dialectOf(r))
	note(w).errorText = e.msg
	if e.status == statusClientClosed {
		return
	}
	if dialectOf(r) == openai {
		st.send(map[string]any{"error": map[string]any{"message": e.msg, "type": openaiErrorType(e.status), "param": nil, "code": nil}})
		return
	}
	st.send(map[string]string{"error": e.msg})
}

// ollamaDetails is the "details" object of model listings.
type ollamaDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

func detailsOf(m library.Meta) ollamaDetails {
	d := ollamaDetails{Format: "gguf", Family: m.Architecture, QuantizationLevel: m.FileType}
	if m.Architecture != "" {
		d.Families = []string{m.Architecture}
	}
	if m.ParamCount > 0 {
		d.ParameterSize = gguf.FormatCount(m.ParamCount)
	}
	return d
}

type ollamaModel struct {
	Name       string        `json:"name"`
	Model      string        `json:"model"`
	ModifiedAt time.Time     `json:"modified_at"`
	Size       int64         `json:"size"`
	Digest     string        `json:"digest"`
	Details    ollamaDetails `json:"details"`
}

// models lists the installed models with every name they answer to.
func (s *Server) models(r *http.Request) ([]service.ModelRef, error) {
	if s.svc == nil {
		return nil, nil
	}
	list, err := s.svc.ListModels(r.Context())
	if err != nil {
		return nil, err
	}
	var out []service.ModelRef
	for _, m := range list {
		if m.Missing {
			continue
		}
		for _, name := range append([]string{m.Name}, m.Aliases...) {
			ref := service.RefFromLibrary(m)
			ref.Name = name
			out = append(out, ref)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Server) handleOllamaTags(w http.ResponseWriter, r *http.Request) {
	refs, err := s.models(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []ollamaModel{}
	for _, m := range refs {
		out = append(out, ollamaModel{Name: m.Name, Model: m.Name, ModifiedAt: m.Modified, Size: m.Size,
			Digest: m.Digest, Details: detailsOf(m.Meta)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
}

// nameRequest is the body of /api/show and /api/delete ("name" is the
// older spelling).
type nameRequest struct {
	Model string `json:"model"`
	Name  string `json:"name"`
}

// decodeName reads a nameRequest; on failure it has answered already.
func (s *Server) decodeName(w http.ResponseWriter, r *http.Request) (string, bool) {
	var n nameRequest
	if err := decodeBody(w, r, &n); err != nil {
		s.fail(w, r, err)
		return "", false
	}
	name := n.Model
	if name == "" {
		name = n.Name
	}
	if name == "" {
		s.fail(w, r, badRequest("model", "is required"))
		return "", false
	}
	return name, true
}

func (s *Server) handleOllamaShow(w http.ResponseWriter, r *http.Request) {
	name, ok := s.decodeName(w, r)
	if !ok {
		return
	}
	info, err := s.runner.Describe(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := info.Ref.Meta
	arch := m.Architecture
	modelInfo := map[string]any{
		"general.architecture":            arch,
		"general.name":                    m.ModelName,
		"general.parameter_count":         m.ParamCount,
		arch + ".context_length":          m.ContextLength,
		arch + ".embedding_length":        m.HParams.Embd,
		arch + ".block_count":             m.HParams.Layers,
		arch + ".attention.head_count":    m.HParams.Heads,
		arch + ".attention.head_count_kv": m.HParams.HeadsKV,
		"tokenizer.ggml.vocab_size":       info.VocabSize,
	}
	var paramLines []string
	for _, stop := range info.Stops {
		paramLines = append(paramLines, fmt.Sprintf("stop %q", stop))
	}
	out := map[string]any{
		"modelfile":    "# Served by Inference Runtime\nFROM " + info.Ref.Name + "\n",
		"parameters":   strings.Join(paramLines, "\n"),
		"template":     info.ChatTemplate,
		"details":      detailsOf(m),
		"model_info":   modelInfo,
		"capabilities": []string{"completion"},
		"modified_at":  info.Ref.Modified,
	}
	customShow(info.Ref, out)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleOllamaPs(w http.ResponseWriter, r *http.Request) {
	type psModel struct {
		ollamaModel
		ExpiresAt     time.Time `json:"expires_at"`
		SizeVRAM      int64     `json:"size_vram"`
		ContextLength int64     `json:"context_length"`
		// Where it runs, beyond Ollama's fields: the device ("cpu",
		// "vulkan0", "vulkan0+cpu") and GPULayers of its Layers blocks there.
		Device    string `json:"device"`
		GPULayers int    `json:"gpu_layers"`
		Layers    int    `json:"layers"`
	}
	out := []psModel{}
	for _, l := range s.runner.Loaded() {
		exp := l.ExpiresAt
		if exp.IsZero() {
			exp = time.Now().Add(100 * 365 * 24 * time.Hour) // kept, or busy: not expiring
		}
		out = append(out, psModel{
			ollamaModel: ollamaModel{Name: l.Ref.Name, Model: l.Ref.Name, ModifiedAt: l.Ref.Modified, Size: l.Memory,
				Digest: l.Ref.Digest, Details: detailsOf(l.Ref.Meta)},
			ExpiresAt: exp, ContextLength: l.Ref.Meta.ContextLength, SizeVRAM: l.VRAM,
			Device: l.Device, GPULayers: l.GPULayers, Layers: l.Layers,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
}

func (s *Server) handleOllamaCopy(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case req.Source == "":
		s.fail(w, r, badRequest("source", "is required"))
		return
	case req.Destination == "":
		s.fail(w, r, badRequest("destination", "is required"))
		return
	}
	if _, err := s.svc.CopyModel(r.Context(), req.Source, req.Destination); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleOllamaDelete(w http.ResponseWriter, r *http.Request) {
	name, ok := s.decodeName(w, r)
	if !ok {
		return
	}
	// The name must exist before anything is unloaded.
	if _, err := s.runner.Resolve(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.runner.Unload(r.Context(), name)
	if _, err := s.svc.RemoveModel(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte("Inference Runtime is running\n"))
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": buildinfo.Get().Version})
}

// routedPaths answer 405 to other methods; unknown paths get 404.
var routedPaths = map[string]string{
	"/api/generate": "POST", "/api/chat": "POST", "/api/tags": "GET", "/api/show": "POST", "/api/ps": "GET",
	"/api/copy": "POST", "/api/delete": "DELETE", "/api/pull": "POST", "/api/version": "GET", "/api/health": "GET",
	"/metrics": "GET", "/v1/chat/completions": "POST", "/v1/completions": "POST", "/v1/models": "GET",
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if allow, ok := routedPaths[r.URL.Path]; ok {
		w.Header().Set("Allow", allow)
		writeError(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
		return
	}
	writeError(w, r, http.StatusNotFound, "no endpoint "+strconvQuote(r.URL.Path))
}
