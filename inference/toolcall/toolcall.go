// Package toolcall knows how each model family writes function calls:
// which convention a chat template teaches (detected from its source), how
// to find the calls in a reply, and a grammar that forces a valid call.
package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"inferenceruntime/inference/grammar"
)

// Format is a family's convention for tool calls.
type Format string

// The conventions, named after the families that use them.
const (
	// Hermes: <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call> (Qwen, Hermes, SmolLM3).
	Hermes Format = "hermes"
	// Llama3: {"name": ..., "parameters": {...}}, optionally after <|python_tag|>.
	Llama3 Format = "llama3"
	// Mistral: [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...] (Nemo and earlier).
	Mistral Format = "mistral"
	// MistralArgs: [TOOL_CALLS]name[ARGS]{...} (Small 3.2, Devstral).
	MistralArgs Format = "mistral-args"
	// Phi4: <|tool_call|>[{"name": ..., "arguments": {...}}]<|/tool_call|>.
	Phi4 Format = "phi4"
	// Gemma: <|tool_call>call:name{...}<tool_call|> (Gemma 4).
	Gemma Format = "gemma"
	// Generic: a bare {"name": ..., "arguments": {...}}, for templates
	// that do not render tools (the tools are then described in a system
	// message).
	Generic Format = "generic"
)

// Detect picks the convention a chat template teaches.
func Detect(template string) Format {
	switch {
	case strings.Contains(template, "[TOOL_CALLS]") && strings.Contains(template, "[ARGS]"):
		return MistralArgs
	case strings.Contains(template, "[TOOL_CALLS]"):
		return Mistral
	case strings.Contains(template, "<|tool_call>"):
		return Gemma
	case strings.Contains(template, "<|tool_call|>") || strings.Contains(template, "<|tool|>"):
		return Phi4
	case strings.Contains(template, "<tool_call>"):
		return Hermes
	case strings.Contains(template, "<|python_tag|>") || strings.Contains(template, "<|start_header_id|>") && strings.Contains(template, "tools"):
		return Llama3
	}
	return Generic
}

// RendersTools reports whether a template shows the model its tools.
func RendersTools(template string) bool { return strings.Contains(template, "tools") }

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // a JSON Schema of the arguments object
}

// Call is one call parsed from a reply.
type Call struct {
	Name      string
	Arguments string // compact JSON object
}

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// CheckName refuses names a call could not carry unambiguously.
func CheckName(name string) error {
	if !toolName.MatchString(name) {
		return fmt.Errorf("%q is not a valid function name (1 to 64 letters, digits, _ . -)", name)
	}
	return nil
}

// markers are where a call starts in each format.
var markers = map[Format][]string{
	Hermes:      {"<tool_call>"},
	Llama3:      {"<|python_tag|>"},
	Mistral:     {"[TOOL_CALLS]"},
	MistralArgs: {"[TOOL_CALLS]"},
	Phi4:        {"<|tool_call|>"},
	Gemma:       {"<|tool_call>"},
}

// startsWithJSON: formats whose call may be a bare JSON object (or list)
// at the very start of the reply.
func (f Format) startsWithJSON() bool { return f == Llama3 || f == Generic || f == Mistral }

// Split returns how much of text is surely ordinary content, so that a
// stream can send it while holding back what may be the start of a call.
func (f Format) Split(text string) int {
	trimmed := strings.TrimLeft(text, " \t\r\n")
	if f.startsWithJSON() && (trimmed == "" || trimmed[0] == '{' || trimmed[0] == '[') {
		return 0
	}
	safe := len(text)
	for _, m := range markers[f] {
		if i := strings.Index(text, m); i >= 0 {
			safe = min(safe, i)
		}
		for n := min(len(m)-1, len(text)); n > 0; n-- {
			if strings.HasSuffix(text, m[:n]) {
				safe = min(safe, len(text)-n)
				break
			}
		}
	}
	return safe
}

// Parse finds the calls in a reply; content is the text around them. A
// reply whose calls do not parse is all content.
func (f Format) Parse(text string) (content string, calls []Call) {
	start := len(text)
	for _, m := range markers[f] {
		if i := strings.Index(text, m); i >= 0 && i < start {
			start = i
		}
	}
	trimmed := strings.TrimSpace(text)
	if start == len(text) && f.startsWithJSON() && trimmed != "" && (trimmed[0] == '{' || trimmed[0] == '[') {
		if calls := jsonCalls(trimmed); len(calls) > 0 {
			return "", calls
		}
		return text, nil
	}
	if start == len(text) {
		return text, nil
	}
	rest := text[start:]
	switch f {
	case Hermes:
		calls = hermesCalls(rest)
	case Llama3:
		calls = jsonCalls(strings.TrimSpace(strings.TrimPrefix(rest, "<|python_tag|>")))
	case Mistral:
		calls = jsonCalls(strings.TrimSpace(strings.TrimPrefix(rest, "[TOOL_CALLS]")))
	case MistralArgs:
		calls = mistralArgsCalls(rest)
	case Phi4:
		body := strings.TrimPrefix(rest, "<|tool_call|>")
		body, _, _ = strings.Cut(body, "<|/tool_call|>")
		calls = jsonCalls(strings.TrimSpace(body))
	case Gemma:
		calls = gemmaCalls(rest)
	}
	if len(calls) == 0 {
		return text, nil
	}
	return strings.TrimSpace(text[:start]), calls
}

// jsonCalls reads {"name", "arguments"|"parameters"} objects: one, a list,
// or several separated by ";" or blanks.
func jsonCalls(s string) []Call {
	dec := json.NewDecoder(strings.NewReader(s))
	var calls []Call
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		for _, e := range list {
			c, ok := callOf(e)
			if !ok {
				return nil
			}
			calls = append(calls, c)
		}
		rest := strings.TrimLeft(s[dec.InputOffset():], " \t\r\n;")
		if rest == "" {
			break
		}
		dec = json.NewDecoder(strings.NewReader(rest))
		s = rest
	}
	return calls
}

func callOf(v any) (Call, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return Call{}, false
	}
	if fn, ok := m["function"].(map[string]any); ok { // OpenAI's own shape
		m = fn
	}
	name, _ := m["name"].(string)
	if name == "" {
		return Call{}, false
	}
	args, ok := m["arguments"]
	if !ok {
		args, ok = m["parameters"]
	}
	if !ok {
		args = map[string]any{}
	}
	if s, isStr := args.(string); isStr { // arguments as JSON text
		var inner any
		if json.Unmarshal([]byte(s), &inner) == nil {
			args = inner
		}
	}
	if _, isObj := args.(map[string]any); !isObj {
		return Call{}, false
	}
	b, _ := json.Marshal(args)
	return Call{Name: name, Arguments: string(b)}, true
}

func hermesCalls(s string) []Call {
	var calls []Call
	for {
		i := strings.Index(s, "<tool_call>")
		if i < 0 {
			return calls
		}
		s = s[i+len("<tool_call>"):]
		body, rest, _ := strings.Cut(s, "</tool_call>")
		got := jsonCalls(strings.TrimSpace(body))
		if len(got) == 0 {
			return calls
		}
		calls = append(calls, got...)
		s = rest
	}
}

func mistralArgsCalls(s string) []Call {
	var calls []Call
	for _, part := range strings.Split(s, "[TOOL_CALLS]")[1:] {
		name, args, ok := strings.Cut(part, "[ARGS]")
		if !ok {
			return nil
		}
		name, _, _ = strings.Cut(name, "[CALL_ID]")
		var v map[string]any
		dec := json.NewDecoder(strings.NewReader(args))
		if dec.Decode(&v) != nil {
			return nil
		}
		b, _ := json.Marshal(v)
		calls = append(calls, Call{Name: strings.TrimSpace(name), Arguments: string(b)})
	}
	return calls
}

var gemmaKey = regexp.MustCompile(`([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:`)

func gemmaCalls(s string) []Call {
	var calls []Call
	for {
		i := strings.Index(s, "<|tool_call>call:")
		if i < 0 {
			return calls
		}
		s = s[i+len("<|tool_call>call:"):]
		body, rest, _ := strings.Cut(s, "<tool_call|>")
		name, args, ok := strings.Cut(body, "{")
		if !ok {
			return calls
		}
		args = "{" + args
		var v map[string]any
		if json.Unmarshal([]byte(args), &v) != nil {
			// Gemma's own notation: bare keys, strings quoted by <|"|>.
			conv := strings.ReplaceAll(args, `<|"|>`, `"`)
			conv = gemmaKey.ReplaceAllString(conv, `$1"$2":`)
			if json.Unmarshal([]byte(conv), &v) != nil {
				return calls
			}
		}
		b, _ := json.Marshal(v)
		calls = append(calls, Call{Name: strings.TrimSpace(name), Arguments: string(b)})
		s = rest
	}
}

// Grammar forces a reply that is one call (several when parallel) of the
// named function, or of any of tools when name is "", with arguments
// valid against the function's schema.
func (f Format) Grammar(tools []Tool, name string, parallel bool) (*grammar.Grammar, error) {
	b := grammar.NewBuilder()
	var alts []string
	for _, t := range tools {
		if name != "" && t.Name != name {
			continue
		}
		params := t.Parameters
		if len(bytes.TrimSpace(params)) == 0 || string(bytes.TrimSpace(params)) == "null" {
			params = json.RawMessage(`{"type": "object", "properties": {}}`)
		}
		args, err := b.Schema(params)
		if err != nil {
			return nil, fmt.Errorf("function %q: parameters: %w", t.Name, err)
		}
		alts = append(alts, b.Rule(f.callBody(t.Name, args)))
	}
	if len(alts) == 0 {
		return nil, fmt.Errorf("no function named %q among the tools", name)
	}
	call := b.Rule(strings.Join(alts, " | "))
	one, sep, open, close := f.frame(call)
	root := open + " " + one
	if parallel && sep != "" {
		root += " (" + sep + " " + one + ")*"
	}
	root += " " + close
	g, err := b.Compile(root)
	if err != nil {
		return nil, fmt.Errorf("tool call grammar: %w", err)
	}
	return g, nil
}

// callBody is the GBNF of one call of name whose arguments rule is args.
func (f Format) callBody(name, args string) string {
	lit := grammar.Literal
	switch f {
	case Llama3:
		return lit(`{"name": "`+name+`", "parameters": `) + " " + args + " " + lit("}")
	case MistralArgs:
		return lit(name+"[ARGS]") + " " + args
	case Gemma:
		return lit("call:"+name) + " " + args
	}
	return lit(`{"name": "`+name+`", "arguments": `) + " " + args + " " + lit("}")
}

// frame wraps calls: each call, the separator between calls, and the text
// before and after them all.
func (f Format) frame(call string) (one, sep, open, close string) {
	lit := grammar.Literal
	switch f {
	case Hermes:
		return lit("<tool_call>\n") + " " + call + " " + lit("\n</tool_call>"), lit("\n"), `""`, `""`
	case Mistral:
		return call, lit(", "), lit("[TOOL_CALLS]["), lit("]")
	case MistralArgs:
		return lit("[TOOL_CALLS]") + " " + call, `""`, `""`, `""`
	case Phi4:
		return call, lit(", "), lit("<|tool_call|>["), lit("]<|/tool_call|>")
	case Gemma:
		return lit("<|tool_call>") + " " + call + " " + lit("<tool_call|>"), `""`, `""`, `""`
	}
	// Llama 3 and generic calls are bare objects: one per reply.
	return call, "", `""`, `""`
}

// SystemPrompt describes tools for a template that cannot show them.
func SystemPrompt(tools []Tool) string {
	var b strings.Builder
	b.WriteString("You can call these functions. To call one, reply with only a JSON object {\"name\": <function name>, \"arguments\": <arguments object>}.\n")
	for _, t := range tools {
		spec, _ := json.Marshal(map[string]any{"name": t.Name, "description": t.Description, "parameters": t.Parameters})
		b.Write(spec)
		b.WriteByte('\n')
	}
	return b.String()
}
