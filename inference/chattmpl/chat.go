package chattmpl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ToolCall is one function call an assistant message made.
type ToolCall struct {
	ID   string
	Type string // "function" when empty
	Name string
	// Arguments is the JSON text of the arguments. A JSON object is handed
	// to the template as a mapping (the form chat templates expect); any
	// other text is passed as a string.
	Arguments string
}

// Message is one turn of a conversation.
type Message struct {
	Role    string
	Content string
	// ReasoningContent is the model's hidden reasoning of an earlier
	// assistant turn; templates that know it render or drop it.
	ReasoningContent string
	ToolCalls        []ToolCall
	ToolCallID       string // for role "tool": the call this answers
	Name             string // for role "tool": the function name
	// Extra holds additional message keys for templates that read them.
	Extra map[string]any
}

// RenderOptions are the template variables besides the messages.
type RenderOptions struct {
	AddGenerationPrompt bool
	BOS, EOS            string
	// Tools are JSON-schema tool specs (JSON-like values, *Dict or
	// json.RawMessage); empty means no tools (tools=None, as transformers
	// passes it).
	Tools []any
	// Extra variables (enable_thinking, reasoning_effort, ...).
	Extra map[string]any
	// Now is the clock behind strftime_now; nil means time.Now.
	Now func() time.Time
}

// toValue converts a message into the dict a chat template reads, with
// keys in the order an OpenAI-style client sends them.
func (m Message) toValue() *Dict {
	d := NewDict()
	d.Set("role", m.Role)
	d.Set("content", m.Content)
	if m.ReasoningContent != "" {
		d.Set("reasoning_content", m.ReasoningContent)
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]any, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			call := NewDict()
			if tc.ID != "" {
				call.Set("id", tc.ID)
			}
			typ := tc.Type
			if typ == "" {
				typ = "function"
			}
			call.Set("type", typ)
			fn := NewDict()
			fn.Set("name", tc.Name)
			var args any = tc.Arguments
			if v, err := ParseJSON([]byte(tc.Arguments)); err == nil {
				if obj, ok := v.(*Dict); ok {
					args = obj
				}
			}
			fn.Set("arguments", args)
			call.Set("function", fn)
			calls[i] = call
		}
		d.Set("tool_calls", calls)
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", m.ToolCallID)
	}
	if m.Name != "" {
		d.Set("name", m.Name)
	}
	for _, k := range sortedKeys(m.Extra) {
		d.Set(k, FromGo(m.Extra[k]))
	}
	return d
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ChatVars builds the variables a chat template is rendered with, as the
// transformers library passes them.
func ChatVars(msgs []Message, opts RenderOptions) (map[string]any, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		list[i] = m.toValue()
	}
	vars := map[string]any{
		"messages":              list,
		"add_generation_prompt": opts.AddGenerationPrompt,
		"bos_token":             opts.BOS,
		"eos_token":             opts.EOS,
		"tools":                 nil,
		"documents":             nil,
	}
	if len(opts.Tools) > 0 {
		tools := make([]any, len(opts.Tools))
		for i, t := range opts.Tools {
			v, err := toolValue(t)
			if err != nil {
				return nil, fmt.Errorf("tool %d: %w", i, err)
			}
			tools[i] = v
		}
		vars["tools"] = tools
	}
	for k, v := range opts.Extra {
		vars[k] = FromGo(v)
	}
	return vars, nil
}

func toolValue(t any) (any, error) {
	switch x := t.(type) {
	case json.RawMessage:
		return ParseJSON(x)
	case []byte:
		return ParseJSON(x)
	}
	return FromGo(t), nil
}

// RenderChat renders a conversation with a chat template source.
func RenderChat(tmplSrc string, msgs []Message, opts RenderOptions) (string, error) {
	t, err := Parse(tmplSrc)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return t.RenderChat(msgs, opts)
}

// RenderChat renders a conversation with a parsed template.
func (t *Template) RenderChat(msgs []Message, opts RenderOptions) (string, error) {
	vars, err := ChatVars(msgs, opts)
	if err != nil {
		return "", err
	}
	out, err := t.Execute(vars, Options{Now: opts.Now})
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// Built-in templates for models whose GGUF carries no chat template.
var builtins = map[string]string{
	"chatml": `{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}`,

	"llama2": `{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = '<<SYS>>\n' + messages[0]['content'] + '\n<</SYS>>\n\n' -%}
{%- set messages = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- endif -%}
{%- for message in messages -%}
{%- if message['role'] == 'user' -%}
{{- bos_token + '[INST] ' + (system if loop.first else '') + message['content'] | trim + ' [/INST]' -}}
{%- elif message['role'] == 'assistant' -%}
{{- ' ' + message['content'] | trim + ' ' + eos_token -}}
{%- endif -%}
{%- endfor -%}`,

	"llama3": `{{- bos_token -}}
{%- for message in messages -%}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}{%- endif -%}`,

	"mistral": `{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = messages[0]['content'] + '\n\n' -%}
{%- set messages = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- endif -%}
{{- bos_token -}}
{%- for message in messages -%}
{%- if message['role'] == 'user' -%}
{{- '[INST] ' + (system if loop.first else '') + message['content'] + ' [/INST]' -}}
{%- elif message['role'] == 'assistant' -%}
{{- message['content'] + eos_token -}}
{%- endif -%}
{%- endfor -%}`,

	"gemma": `{{- bos_token -}}
{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = messages[0]['content'] + '\n\n' -%}
{%- set messages = messages[1:] -%}
{%- else -%}{%- set system = '' -%}{%- endif -%}
{%- for message in messages -%}
{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
{{- '<start_of_turn>' + role + '\n' + (system if loop.first else '') + message['content'] | trim + '<end_of_turn>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<start_of_turn>model\n' -}}{%- endif -%}`,

	"phi3": `{%- for message in messages -%}
{{- '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|assistant|>\n' -}}{%- else -%}{{- eos_token -}}{%- endif -%}`,
}

// BuiltinNames lists the built-in template names.
func BuiltinNames() []string {
	return []string{"chatml", "gemma", "llama2", "llama3", "mistral", "phi3"}
}

// Builtin returns the built-in template of a family ("chatml", "llama2",
// "llama3", "mistral", "gemma", "phi3"), or "" when there is none.
func Builtin(family string) string { return builtins[strings.ToLower(family)] }

// DetectFamily guesses the chat format of a model from its architecture
// (general.architecture) and the special tokens of its vocabulary.
func DetectFamily(arch string, vocabHas func(string) bool) string {
	has := func(s string) bool { return vocabHas != nil && vocabHas(s) }
	switch {
	case has("<|im_start|>"):
		return "chatml"
	case has("<|start_header_id|>") || has("<|eot_id|>"):
		return "llama3"
	case has("<start_of_turn>"):
		return "gemma"
	case has("<|user|>") && has("<|end|>"):
		return "phi3"
	case has("[INST]"):
		return "mistral"
	}
	a := strings.ToLower(arch)
	switch {
	case strings.HasPrefix(a, "gemma"):
		return "gemma"
	case strings.HasPrefix(a, "phi3"):
		return "phi3"
	case strings.HasPrefix(a, "llama"):
		return "llama2"
	case strings.HasPrefix(a, "mistral"):
		return "mistral"
	}
	return "chatml"
}

// ForModel picks the template to render a model's conversations with: the
// user's override, else the GGUF's tokenizer.chat_template, else a built-in
// chosen from the architecture and vocabulary. name says which: "override",
// "gguf" or the built-in's name.
func ForModel(arch, ggufTemplate, override string, vocabHas func(string) bool) (src, name string) {
	switch {
	case strings.TrimSpace(override) != "":
		if b := Builtin(strings.TrimSpace(override)); b != "" {
			return b, strings.ToLower(strings.TrimSpace(override))
		}
		return override, "override"
	case strings.TrimSpace(ggufTemplate) != "":
		return ggufTemplate, "gguf"
	}
	family := DetectFamily(arch, vocabHas)
	return builtins[family], family
}

// stopCandidates are the end-of-turn markers of known chat formats.
var stopCandidates = []string{
	"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<turn|>",
	"<|end|>", "<|return|>", "<|call|>", "<|end_of_text|>", "<|endoftext|>",
	"<|END_OF_TURN_TOKEN|>", "<｜end▁of▁sentence｜>", "<|assistant_end|>", "</s>",
}

// StopStrings returns the end-of-turn markers a template source uses, so
// that generation stops where the template would close the assistant's
// turn. With vocabHas, only markers that are tokens of the model count. The
// model's EOS/EOT tokens come from the tokenizer in addition to these.
func StopStrings(src string, vocabHas func(string) bool) []string {
	var out []string
	for _, s := range stopCandidates {
		if !strings.Contains(src, s) || (vocabHas != nil && !vocabHas(s)) {
			continue
		}
		// In the harmony format <|end|> closes a message inside the turn;
		// the turn ends with <|return|> or <|call|>.
		if s == "<|end|>" && strings.Contains(src, "<|return|>") {
			continue
		}
		out = append(out, s)
	}
	return out
}
