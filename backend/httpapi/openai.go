package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/sample"
)

// openaiCommon are the fields chat and text completions share.
type openaiCommon struct {
	Model               string   `json:"model"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	Seed                *int64   `json:"seed"`
	Stop                stopList `json:"stop"`
	PresencePenalty     *float64 `json:"presence_penalty"`
	FrequencyPenalty    *float64 `json:"frequency_penalty"`
	N                   *int     `json:"n"`
	Stream              bool     `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Logprobs    logprobsFlag `json:"logprobs"`
	TopLogprobs *int         `json:"top_logprobs"`
	// Extensions many OpenAI-compatible servers accept.
	TopK          *int     `json:"top_k"`
	MinP          *float64 `json:"min_p"`
	RepeatPenalty *float64 `json:"repeat_penalty"`
	NumCtx        *int     `json:"num_ctx"`
	// Lora sets the server's adapter scales for this request (llama-server).
	Lora []service.LoraScale `json:"lora"`
	// Draft chooses speculative decoding: a draft model's name, "lookup"
	// or "none" (see service.GenerateOptions.Draft).
	Draft string `json:"draft"`
}

// options validates the request and converts it with OpenAI's defaults
// (temperature 1, top_p 1, no repetition penalty).
func (c openaiCommon) options() (service.GenerateOptions, error) {
	if c.N != nil && *c.N != 1 {
		return service.GenerateOptions{}, badRequest("n", "only n=1 is supported")
	}
	top := c.TopLogprobs
	if c.Logprobs.n != nil { // text completions: logprobs is the number of alternatives
		top = c.Logprobs.n
	}
	lpOn, lpTop, err := logprobsWanted(c.Logprobs.on, top, "top_logprobs")
	if err != nil {
		return service.GenerateOptions{}, err
	}
	f := openaiFields
	maxTok := c.MaxTokens
	if c.MaxCompletionTokens != nil {
		maxTok, f.maxTokens = c.MaxCompletionTokens, "max_completion_tokens"
	}
	base := sample.DefaultParams()
	base.Temperature, base.TopP, base.RepeatPenalty = 1, 1, 1
	p := params{temperature: c.Temperature, topP: c.TopP, minP: c.MinP, repeatPenalty: c.RepeatPenalty,
		presence: c.PresencePenalty, frequency: c.FrequencyPenalty, topK: c.TopK, maxTokens: maxTok,
		numCtx: c.NumCtx, seed: c.Seed, stop: c.Stop}
	o, err := p.options(f, base, 2, 1)
	o.Logprobs, o.TopLogprobs, o.Lora, o.Draft = lpOn, lpTop, c.Lora, c.Draft
	return o, err
}

func (c openaiCommon) includeUsage() bool {
	return c.StreamOptions != nil && c.StreamOptions.IncludeUsage
}

// openaiContent is a message's content: a string, null, or an array of
// text and image_url parts (each image leaves a media marker in the text).
type openaiContent struct {
	text   string
	images [][]byte
	err    *fieldError
}

func (c *openaiContent) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &c.text)
	}
	var parts []struct {
		Type     string          `json:"type"`
		Text     *string         `json:"text"`
		ImageURL json.RawMessage `json:"image_url"`
	}
	// Problems are kept, not returned, so that they are reported with the
	// message's index.
	if err := json.Unmarshal(data, &parts); err != nil {
		c.err = &fieldError{"content", "expected a string or an array of content parts"}
		return nil
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "image_url" {
			img, problem := dataURLImage(p.ImageURL)
			if problem != "" {
				c.err = &fieldError{"content", problem}
				return nil
			}
			c.images = append(c.images, img)
			b.WriteString(inference.MediaMarker)
			continue
		}
		switch {
		case p.Type != "text" && p.Type != "input_text":
			c.err = &fieldError{"content", fmt.Sprintf("content parts of type %q are not supported (only text and image_url)", p.Type)}
			return nil
		case p.Text == nil:
			c.err = &fieldError{"content", fmt.Sprintf("the content part of type %q has no text", p.Type)}
			return nil
		}
		b.WriteString(*p.Text)
	}
	c.text = b.String()
	return nil
}

type openaiMessage struct {
	Role       string        `json:"role"`
	Content    openaiContent `json:"content"`
	Name       string        `json:"name"`
	ToolCallID string        `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ReasoningContent string `json:"reasoning_content"`
}

type openaiChatRequest struct {
	openaiCommon
	Messages       []openaiMessage `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict bool            `json:"strict"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Tools             []rawTool       `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	// Grammar is GBNF, as llama-server takes it.
	Grammar string `json:"grammar"`
}

type openaiCompletionRequest struct {
	openaiCommon
	Prompt json.RawMessage `json:"prompt"`
	Suffix string          `json:"suffix"`
	Echo   bool            `json:"echo"`
	// Grammar is GBNF, as llama-server takes it.
	Grammar string `json:"grammar"`
}

type openaiUsage struct {
	PromptTokens        int                 `json:"prompt_tokens"`
	CompletionTokens    int                 `json:"completion_tokens"`
	TotalTokens         int                 `json:"total_tokens"`
	PromptTokensDetails openaiPromptDetails `json:"prompt_tokens_details"`
	// CompletionTokensDetails is there when speculative decoding drafted
	// tokens, in the shape of OpenAI's predicted outputs: drafts the model
	// agreed with, and drafts it did not.
	CompletionTokensDetails *openaiCompletionDetails `json:"completion_tokens_details,omitempty"`
}

type openaiCompletionDetails struct {
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

// openaiPromptDetails says how many prompt tokens came from the cache (a
// follow-up turn's history, a shared system prompt) rather than being
// evaluated again; prompt_tokens still counts them.
type openaiPromptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

func usageOf(res service.GenerateResult) *openaiUsage {
	p, c := res.Stats.PromptTokens, res.Stats.GeneratedTokens
	u := &openaiUsage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c,
		PromptTokensDetails: openaiPromptDetails{CachedTokens: res.Stats.CachedTokens}}
	if d := res.Stats.DraftedTokens; d > 0 {
		a := res.Stats.AcceptedTokens
		u.CompletionTokensDetails = &openaiCompletionDetails{AcceptedPredictionTokens: a, RejectedPredictionTokens: d - a}
	}
	return u
}

// finishReason maps the runner's reasons to OpenAI's.
func finishReason(res service.GenerateResult) string {
	if res.DoneReason == "length" {
		return "length"
	}
	return "stop"
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Server) handleOpenAIChat(w http.ResponseWriter, r *http.Request) {
	var req openaiChatRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	opts, err := req.options()
	var msgs []chattmpl.Message
	if err == nil {
		msgs, err = openaiMessages(req.Messages)
	}
	sreq := service.GenerateRequest{Model: req.Model, Messages: msgs, Options: opts}
	for _, m := range req.Messages {
		sreq.Images = append(sreq.Images, m.Content.images...)
	}
	var ts *toolSetup
	if err == nil {
		ts, err = s.openaiStructured(r, &req, &sreq)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	type delta struct {
		Role      string           `json:"role,omitempty"`
		Content   *string          `json:"content,omitempty"`
		ToolCalls []openaiToolCall `json:"tool_calls,omitempty"`
	}
	type streamChoice struct {
		Index        int     `json:"index"`
		Delta        delta   `json:"delta"`
		Logprobs     any     `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	}
	type chunk struct {
		ID                string         `json:"id"`
		Object            string         `json:"object"`
		Created           int64          `json:"created"`
		Model             string         `json:"model"`
		SystemFingerprint string         `json:"system_fingerprint"`
		Choices           []streamChoice `json:"choices"`
		Usage             *openaiUsage   `json:"usage,omitempty"`
	}
	mk := func(choices []streamChoice) chunk {
		return chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
			SystemFingerprint: "ir", Choices: choices}
	}
	if req.Stream {
		st := newStreamer(w, true, s.cfg.WriteTimeout)
		first := true
		lps := &logprobsCollector{}
		if opts.Logprobs {
			sreq.OnLogprobs = lps.add
		}
		open := func(d delta) any {
			if first {
				d.Role, first = "assistant", false
			}
			return mk([]streamChoice{{Delta: d, Logprobs: chatLogprobs(lps.take())}})
		}
		hold := &holder{ts: ts}
		res, err := s.generate(w, r, sreq, st, func(text string) any {
			if text = hold.add(text); text == "" {
				return nil
			}
			return open(delta{Content: &text})
		})
		if err != nil {
			s.failStream(w, r, st, err)
			return
		}
		fr := finishReason(res)
		rest, calls := hold.finish()
		if rest != "" {
			st.send(open(delta{Content: &rest}))
		}
		for _, tc := range openaiCallDeltas(calls) {
			st.send(open(delta{ToolCalls: tc}))
		}
		if len(calls) > 0 {
			fr = "tool_calls"
		}
		d := delta{}
		if first { // nothing was generated: the role still opens the message
			empty := ""
			d = delta{Role: "assistant", Content: &empty}
		}
		last := mk([]streamChoice{{Delta: d, FinishReason: &fr}})
		usage := mk([]streamChoice{})
		usage.Usage = usageOf(res)
		st.finish(last, usage, req.includeUsage())
		return
	}
	res, err := s.generate(w, r, sreq, nil, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	content, calls := ts.split(res.Text)
	msg := map[string]any{"role": "assistant", "content": content}
	fr := finishReason(res)
	if len(calls) > 0 {
		msg["tool_calls"], fr = openaiCalls(calls), "tool_calls"
		if content == "" {
			msg["content"] = nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": req.Model, "system_fingerprint": "ir",
		"choices": []any{map[string]any{
			"index": 0, "message": msg,
			"logprobs": chatLogprobs(res.Logprobs), "finish_reason": fr,
		}},
		"usage": usageOf(res),
	})
}

// openaiRoles are the roles accepted; "developer" is the newer name of
// "system".
var openaiRoles = []string{"system", "developer", "user", "assistant", "tool"}

func openaiMessages(in []openaiMessage) ([]chattmpl.Message, error) {
	if len(in) == 0 {
		return nil, badRequest("messages", "at least one message is required")
	}
	out := make([]chattmpl.Message, 0, len(in))
	for i, m := range in {
		field := fmt.Sprintf("messages[%d]", i)
		if !isOneOf(m.Role, openaiRoles) {
			return nil, badRequest(field+".role", "%q is not one of %s", m.Role, strings.Join(openaiRoles, ", "))
		}
		if m.Content.err != nil {
			return nil, badRequest(field+".content", "%s", m.Content.err.msg)
		}
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		cm := chattmpl.Message{Role: role, Content: m.Content.text, Name: m.Name, ToolCallID: m.ToolCallID,
			ReasoningContent: m.ReasoningContent}
		for _, tc := range m.ToolCalls {
			cm.ToolCalls = append(cm.ToolCalls, chattmpl.ToolCall{ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		out = append(out, cm)
	}
	return out, nil
}

// completionPrompt accepts a string or an array holding one string.
func completionPrompt(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", badRequest("prompt", "is required")
	}
	var one string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &one); err != nil {
			return "", badRequest("prompt", "malformed string")
		}
		return one, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return "", badRequest("prompt", "expected a string or an array of strings (token arrays are not supported)")
	}
	if len(many) != 1 {
		return "", badRequest("prompt", "exactly one prompt per request is supported, got %d", len(many))
	}
	return many[0], nil
}

func (s *Server) handleOpenAICompletion(w http.ResponseWriter, r *http.Request) {
	var req openaiCompletionRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	opts, err := req.options()
	var prompt string
	if err == nil {
		prompt, err = completionPrompt(req.Prompt)
	}
	switch {
	case err != nil:
	case req.Suffix != "":
		err = badRequest("suffix", "fill-in-the-middle (suffix) is not supported by this server")
	case req.Echo:
		err = badRequest("echo", "echo is not supported by this server")
	case prompt == "":
		err = badRequest("prompt", "is empty")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Grammar != "" {
		if opts.Grammar, err = userGrammar(req.Grammar); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	sreq := service.GenerateRequest{Model: req.Model, Prompt: prompt, Raw: true, Options: opts}
	id, created := newID("cmpl-"), time.Now().Unix()
	type choice struct {
		Text         string  `json:"text"`
		Index        int     `json:"index"`
		Logprobs     any     `json:"logprobs"`
		FinishReason *string `json:"finish_reason"`
	}
	type body struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		SystemFingerprint string       `json:"system_fingerprint"`
		Choices           []choice     `json:"choices"`
		Usage             *openaiUsage `json:"usage,omitempty"`
	}
	mk := func(choices []choice) body {
		return body{ID: id, Object: "text_completion", Created: created, Model: req.Model, SystemFingerprint: "ir", Choices: choices}
	}
	if req.Stream {
		st := newStreamer(w, true, s.cfg.WriteTimeout)
		lps, offset := &logprobsCollector{}, 0
		if opts.Logprobs {
			sreq.OnLogprobs = lps.add
		}
		res, err := s.generate(w, r, sreq, st, func(text string) any {
			c := choice{Text: text, Logprobs: completionLogprobs(lps.take(), offset)}
			offset += len(text)
			return mk([]choice{c})
		})
		if err != nil {
			s.failStream(w, r, st, err)
			return
		}
		fr := finishReason(res)
		usage := mk([]choice{})
		usage.Usage = usageOf(res)
		st.finish(mk([]choice{{FinishReason: &fr}}), usage, req.includeUsage())
		return
	}
	res, err := s.generate(w, r, sreq, nil, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fr := finishReason(res)
	b := mk([]choice{{Text: res.Text, FinishReason: &fr, Logprobs: completionLogprobs(res.Logprobs, 0)}})
	b.Usage = usageOf(res)
	writeJSON(w, http.StatusOK, b)
}

type openaiModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) handleOpenAIModels(w http.ResponseWriter, r *http.Request) {
	refs, err := s.models(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := []openaiModel{}
	for _, m := range refs {
		data = append(data, openaiModel{ID: m.Name, Object: "model", Created: m.Modified.Unix(), OwnedBy: "library"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) handleOpenAIModel(w http.ResponseWriter, r *http.Request) {
	ref, err := s.runner.Resolve(r.Context(), r.PathValue("model"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, openaiModel{ID: r.PathValue("model"), Object: "model", Created: ref.Modified.Unix(), OwnedBy: "library"})
}
