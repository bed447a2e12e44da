package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"inferenceruntime/backend/service"
	"inferenceruntime/inference/chattmpl"
	"inferenceruntime/inference/grammar"
	"inferenceruntime/inference/toolcall"
)

// Structured output and tool calling, shared by both dialects: the
// request's grammar, schema or tools become a grammar on the runner's
// options, tools reach the chat template, and replies are parsed back
// into calls by the model family's convention.

// rawTool is a tool as both dialects send it.
type rawTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      bool            `json:"strict"`
	} `json:"function"`
}

// isNull reports an absent or null JSON value.
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// schemaGrammar compiles a JSON Schema, naming field and the keyword when
// it cannot be honoured.
func schemaGrammar(field string, schema json.RawMessage) (*grammar.Grammar, error) {
	g, err := grammar.CompileJSONSchema(schema)
	var se *grammar.SchemaError
	if errors.As(err, &se) && se.Keyword != "" {
		return nil, badRequest(field, "%s", se.Error())
	}
	if err != nil {
		return nil, badRequest(field, "%v", err)
	}
	return g, nil
}

// userGrammar compiles a GBNF grammar sent by the client.
func userGrammar(src string) (*grammar.Grammar, error) {
	g, err := grammar.Parse(src)
	if err != nil {
		return nil, badRequest("grammar", "%v", err)
	}
	return g, nil
}

// parseTools checks the tools of a request and converts their schemas (so
// that a bad one is a 400 even when the model is not forced to call).
func parseTools(raw []rawTool) ([]toolcall.Tool, []any, error) {
	var tools []toolcall.Tool
	var specs []any
	for i, t := range raw {
		field := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != "function" {
			return nil, nil, badRequest(field+".type", "%q is not supported (only function)", t.Type)
		}
		if t.Function == nil {
			return nil, nil, badRequest(field+".function", "is required")
		}
		if err := toolcall.CheckName(t.Function.Name); err != nil {
			return nil, nil, badRequest(field+".function.name", "%v", err)
		}
		for _, seen := range tools {
			if seen.Name == t.Function.Name {
				return nil, nil, badRequest(field+".function.name", "%q is declared twice", seen.Name)
			}
		}
		params := t.Function.Parameters
		if isNull(params) {
			params = json.RawMessage(`{"type": "object", "properties": {}}`)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(params, &obj) != nil {
			return nil, nil, badRequest(field+".function.parameters", "must be a JSON Schema object")
		}
		if _, err := schemaGrammar(field+".function.parameters", params); err != nil {
			return nil, nil, err
		}
		tools = append(tools, toolcall.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: params})
		specs = append(specs, map[string]any{"type": "function", "function": map[string]any{
			"name": t.Function.Name, "description": t.Function.Description, "parameters": params}})
	}
	return tools, specs, nil
}

// toolSetup is how a request's tools are used.
type toolSetup struct {
	format toolcall.Format
	tools  []toolcall.Tool
	forced bool // the grammar makes the reply calls only
}

// applyTools hands tools to the model (through its template, or a system
// message when the template has no place for them) and, when a call is
// required (name "" means any function), sets the grammar that forces it.
func (s *Server) applyTools(r *http.Request, sreq *service.GenerateRequest, tools []toolcall.Tool, specs []any,
	required bool, name string, parallel bool) (*toolSetup, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	info, err := s.runner.Describe(r.Context(), sreq.Model)
	if err != nil {
		return nil, err
	}
	ts := &toolSetup{format: toolcall.Detect(info.ChatTemplate), tools: tools}
	if toolcall.RendersTools(info.ChatTemplate) {
		sreq.Tools = specs
	} else {
		ts.format = toolcall.Generic
		sys := chattmpl.Message{Role: "system", Content: toolcall.SystemPrompt(tools)}
		if len(sreq.Messages) > 0 && sreq.Messages[0].Role == "system" {
			sys.Content = sreq.Messages[0].Content + "\n\n" + sys.Content
			sreq.Messages = append([]chattmpl.Message{sys}, sreq.Messages[1:]...)
		} else {
			sreq.Messages = append([]chattmpl.Message{sys}, sreq.Messages...)
		}
	}
	if required || name != "" {
		if sreq.Options.Grammar != nil {
			return nil, badRequest("tool_choice", "a required tool call cannot be combined with a grammar or response_format")
		}
		g, err := ts.format.Grammar(tools, name, parallel)
		if err != nil {
			return nil, badRequest("tool_choice", "%v", err)
		}
		sreq.Options.Grammar = g
		ts.forced = true
	}
	return ts, nil
}

// split parses a finished reply into content and calls.
func (ts *toolSetup) split(text string) (string, []toolcall.Call) {
	if ts == nil {
		return text, nil
	}
	content, calls := ts.format.Parse(text)
	if !ts.forced {
		// Only declared functions count as calls; anything else is text.
		for _, c := range calls {
			if !ts.declared(c.Name) {
				return text, nil
			}
		}
	}
	return content, calls
}

func (ts *toolSetup) declared(name string) bool {
	for _, t := range ts.tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// holder streams content while holding back text that may be a call.
type holder struct {
	ts   *toolSetup
	buf  strings.Builder
	sent int
}

// add takes generated text and returns the content now safe to send.
func (h *holder) add(text string) string {
	if h.ts == nil {
		return text
	}
	h.buf.WriteString(text)
	all := h.buf.String()
	safe := max(h.ts.format.Split(all), h.sent)
	if h.ts.forced {
		safe = h.sent // a forced reply is all calls
	}
	out := all[h.sent:safe]
	h.sent = safe
	return out
}

// finish returns the calls in what was held, or the held text as content
// when it held none.
func (h *holder) finish() (string, []toolcall.Call) {
	if h.ts == nil {
		return "", nil
	}
	all := h.buf.String()
	if _, calls := h.ts.split(all); len(calls) > 0 {
		return "", calls
	}
	return all[h.sent:], nil
}

// openaiToolCall is a call in OpenAI's message and delta shape.
type openaiToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string  `json:"name,omitempty"`
		Arguments *string `json:"arguments,omitempty"`
	} `json:"function"`
}

func openaiCalls(calls []toolcall.Call) []openaiToolCall {
	out := make([]openaiToolCall, len(calls))
	for i, c := range calls {
		args := c.Arguments
		out[i].ID, out[i].Type = newID("call_"), "function"
		out[i].Function.Name, out[i].Function.Arguments = c.Name, &args
	}
	return out
}

// openaiCallDeltas are the stream chunks' tool_calls for calls: per call,
// one delta that opens it (index, id, type, name, empty arguments) and one
// with the arguments, as OpenAI streams them.
func openaiCallDeltas(calls []toolcall.Call) [][]openaiToolCall {
	var out [][]openaiToolCall
	for i, c := range openaiCalls(calls) {
		idx := i
		empty := ""
		open := c
		open.Index, open.Function.Arguments = &idx, &empty
		args := openaiToolCall{Index: &idx}
		args.Function.Arguments = c.Function.Arguments
		out = append(out, []openaiToolCall{open}, []openaiToolCall{args})
	}
	return out
}

func ollamaCalls(calls []toolcall.Call) []ollamaToolCall {
	out := make([]ollamaToolCall, len(calls))
	for i, c := range calls {
		out[i].Function.Name = c.Name
		out[i].Function.Arguments = json.RawMessage(c.Arguments)
	}
	return out
}

// openaiStructured reads response_format, grammar, tools, tool_choice and
// parallel_tool_calls of a chat request into sreq.
func (s *Server) openaiStructured(r *http.Request, req *openaiChatRequest, sreq *service.GenerateRequest) (*toolSetup, error) {
	if req.Grammar != "" {
		g, err := userGrammar(req.Grammar)
		if err != nil {
			return nil, err
		}
		sreq.Options.Grammar = g
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		if sreq.Options.Grammar != nil {
			return nil, badRequest("response_format", "cannot be combined with grammar")
		}
		switch rf.Type {
		case "json_object":
			g, err := grammar.Parse(grammar.JSONObject)
			if err != nil {
				return nil, err
			}
			sreq.Options.Grammar = g
		case "json_schema":
			if rf.JSONSchema == nil || isNull(rf.JSONSchema.Schema) {
				return nil, badRequest("response_format.json_schema.schema", "is required")
			}
			g, err := schemaGrammar("response_format.json_schema.schema", rf.JSONSchema.Schema)
			if err != nil {
				return nil, err
			}
			sreq.Options.Grammar = g
		default:
			return nil, badRequest("response_format.type", "%q is not one of text, json_object, json_schema", rf.Type)
		}
	}
	tools, specs, err := parseTools(req.Tools)
	if err != nil {
		return nil, err
	}
	required, name, err := toolChoice(req.ToolChoice, tools)
	if err != nil {
		return nil, err
	}
	if required == "none" {
		return nil, nil
	}
	parallel := req.ParallelToolCalls == nil || *req.ParallelToolCalls
	return s.applyTools(r, sreq, tools, specs, required == "required", name, parallel)
}

// toolChoice reads tool_choice: "auto", "none", "required" or
// {"type": "function", "function": {"name": ...}}.
func toolChoice(raw json.RawMessage, tools []toolcall.Tool) (mode, name string, err error) {
	if isNull(raw) {
		return "auto", "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "none":
			return s, "", nil
		case "required":
			if len(tools) == 0 {
				return "", "", badRequest("tool_choice", "\"required\" needs at least one tool")
			}
			return s, "", nil
		}
		return "", "", badRequest("tool_choice", "%q is not one of auto, none, required", s)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &named) != nil || named.Type != "function" || named.Function.Name == "" {
		return "", "", badRequest("tool_choice", `expected "auto", "none", "required" or {"type": "function", "function": {"name": ...}}`)
	}
	for _, t := range tools {
		if t.Name == named.Function.Name {
			return "named", t.Name, nil
		}
	}
	return "", "", badRequest("tool_choice.function.name", "%q is not one of the tools", named.Function.Name)
}

// ollamaStructured reads format, grammar and tools of an Ollama request.
func (s *Server) ollamaStructured(r *http.Request, format json.RawMessage, gram string, raw []rawTool, sreq *service.GenerateRequest) (*toolSetup, error) {
	if gram != "" {
		g, err := userGrammar(gram)
		if err != nil {
			return nil, err
		}
		sreq.Options.Grammar = g
	}
	if f := bytes.TrimSpace(format); !isNull(f) && string(f) != `""` {
		if sreq.Options.Grammar != nil {
			return nil, badRequest("format", "cannot be combined with grammar")
		}
		var g *grammar.Grammar
		var err error
		switch {
		case string(f) == `"json"`:
			g, err = grammar.Parse(grammar.JSONObject)
		case f[0] == '{':
			g, err = schemaGrammar("format", f)
		default:
			err = badRequest("format", `expected "json" or a JSON Schema object`)
		}
		if err != nil {
			return nil, err
		}
		sreq.Options.Grammar = g
	}
	if len(raw) == 0 || sreq.Messages == nil {
		return nil, nil
	}
	tools, specs, err := parseTools(raw)
	if err != nil {
		return nil, err
	}
	return s.applyTools(r, sreq, tools, specs, false, "", true)
}
