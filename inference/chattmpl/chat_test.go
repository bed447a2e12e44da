package chattmpl

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"inferenceruntime/internal/testshared"
)

// messagesFromCase converts the messages of a golden case into Messages;
// ok is false when a message has a shape Message cannot express (null or
// missing content).
func messagesFromCase(t *testing.T, v any) (msgs []Message, ok bool) {
	t.Helper()
	list, _ := v.([]any)
	for _, item := range list {
		d := item.(*Dict)
		var m Message
		get := func(k string) string {
			v, _ := d.Get(k)
			s, _ := v.(string)
			return s
		}
		if c, has := d.Get("content"); !has || c == nil {
			return nil, false
		}
		m.Role, m.Content = get("role"), get("content")
		m.ReasoningContent, m.ToolCallID, m.Name = get("reasoning_content"), get("tool_call_id"), get("name")
		if calls, has := d.Get("tool_calls"); has {
			for _, c := range calls.([]any) {
				cd := c.(*Dict)
				fnv, _ := cd.Get("function")
				fn := fnv.(*Dict)
				id, _ := cd.Get("id")
				name, _ := fn.Get("name")
				args, _ := fn.Get("arguments")
				argText, isString := args.(string)
				if !isString {
					var err error
					if argText, err = toJSON(args, jsonOptions{itemSep: ", ", keySep: ": "}); err != nil {
						t.Fatal(err)
					}
				}
				idText, _ := id.(string)
				m.ToolCalls = append(m.ToolCalls, ToolCall{ID: idText, Name: name.(string), Arguments: argText})
			}
		}
		msgs = append(msgs, m)
	}
	return msgs, true
}

// TestRenderChatGolden renders the golden conversations through the
// Message API and compares with the reference output. The API always
// passes tools (None when empty), as transformers does, so cases without
// tools are compared only where the template does not look at tools.
func TestRenderChatGolden(t *testing.T) {
	root := testshared.Dir(t, "templates")
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "template.jinja"))
	checked := 0
	for _, tmplPath := range dirs {
		dir := filepath.Dir(tmplPath)
		src, err := os.ReadFile(tmplPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, caseName := range []string{"01-single-user", "03-multi-turn", "06-tools", "07-tool-call-roundtrip", "10-thinking-history"} {
			want, err := os.ReadFile(filepath.Join(dir, "expected", caseName+".txt"))
			if err != nil {
				continue
			}
			vars, err := loadCase(filepath.Join(dir, "cases", caseName+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if _, hasTools := vars["tools"]; !hasTools && strings.Contains(string(src), "tools") {
				continue
			}
			msgs, ok := messagesFromCase(t, vars["messages"])
			if !ok {
				continue
			}
			opts := RenderOptions{Now: goldenNow}
			opts.AddGenerationPrompt, _ = vars["add_generation_prompt"].(bool)
			opts.BOS, _ = vars["bos_token"].(string)
			opts.EOS, _ = vars["eos_token"].(string)
			if tools, ok := vars["tools"].([]any); ok {
				opts.Tools = tools
			}
			for _, k := range []string{"functions", "datetime"} {
				if v, ok := vars[k]; ok {
					if opts.Extra == nil {
						opts.Extra = map[string]any{}
					}
					opts.Extra[k] = v
				}
			}
			got, err := RenderChat(string(src), msgs, opts)
			if err != nil {
				t.Errorf("%s/%s: %v", filepath.Base(dir), caseName, err)
				continue
			}
			if got != string(want) {
				t.Errorf("%s/%s: output differs at byte %d\n--- got ---\n%s\n--- want ---\n%s", filepath.Base(dir), caseName, firstDiff(got, string(want)), got, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no golden conversation was checked")
	}
	t.Logf("%d golden conversations rendered through RenderChat", checked)
}

// TestBuiltinsMatchModelTemplates checks the built-in templates against the
// real templates of the same format where the golden data has them.
func TestBuiltinsMatchModelTemplates(t *testing.T) {
	root := testshared.Dir(t, "templates")
	for _, tc := range []struct{ builtin, model string }{
		{"gemma", "google-gemma-2-2b-it"},
		{"phi3", "microsoft-Phi-3.5-mini-instruct"},
	} {
		for _, caseName := range []string{"01-single-user", "04-no-generation-prompt"} {
			dir := filepath.Join(root, tc.model)
			want, err := os.ReadFile(filepath.Join(dir, "expected", caseName+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			vars, err := loadCase(filepath.Join(dir, "cases", caseName+".json"))
			if err != nil {
				t.Fatal(err)
			}
			msgs, _ := messagesFromCase(t, vars["messages"])
			opts := RenderOptions{}
			opts.AddGenerationPrompt, _ = vars["add_generation_prompt"].(bool)
			opts.BOS, _ = vars["bos_token"].(string)
			opts.EOS, _ = vars["eos_token"].(string)
			got, err := RenderChat(Builtin(tc.builtin), msgs, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("builtin %s vs %s/%s:\n--- got ---\n%q\n--- want ---\n%q", tc.builtin, tc.model, caseName, got, want)
			}
		}
	}
}

func TestBuiltinsRender(t *testing.T) {
	msgs := []Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Hello!"},
		{Role: "user", Content: "Bye"},
	}
	for _, name := range BuiltinNames() {
		src := Builtin(name)
		if src == "" {
			t.Fatalf("builtin %s missing", name)
		}
		out, err := RenderChat(src, msgs, RenderOptions{AddGenerationPrompt: true, BOS: "<s>", EOS: "</s>"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{"Be brief.", "Hi", "Hello!", "Bye"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", name, want, out)
			}
		}
		stops := StopStrings(src, nil)
		if name != "llama2" && name != "mistral" && len(stops) == 0 {
			t.Errorf("%s: no stop strings found", name)
		}
	}
}

func TestForModel(t *testing.T) {
	vocab := func(tokens ...string) func(string) bool {
		return func(s string) bool {
			for _, tok := range tokens {
				if tok == s {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		arch, gguf, override string
		vocab                func(string) bool
		wantName             string
	}{
		{"llama", "", "", vocab("<|start_header_id|>", "<|eot_id|>"), "llama3"},
		{"llama", "", "", vocab("[INST]"), "mistral"},
		{"llama", "", "", vocab(), "llama2"},
		{"qwen2", "", "", vocab("<|im_start|>", "<|im_end|>"), "chatml"},
		{"gemma2", "", "", vocab(), "gemma"},
		{"phi3", "", "", nil, "phi3"},
		{"unknown", "", "", nil, "chatml"},
		{"llama", "{{ x }}", "", vocab("<|eot_id|>"), "gguf"},
		{"llama", "{{ x }}", "{{ mine }}", nil, "override"},
		{"llama", "{{ x }}", "ChatML", nil, "chatml"},
	}
	for _, tc := range tests {
		src, name := ForModel(tc.arch, tc.gguf, tc.override, tc.vocab)
		if name != tc.wantName || src == "" {
			t.Errorf("ForModel(%q, %q, %q) = %q, want %q", tc.arch, tc.gguf, tc.override, name, tc.wantName)
		}
	}
}

func TestStopStrings(t *testing.T) {
	tests := []struct {
		src   string
		vocab func(string) bool
		want  []string
	}{
		{Builtin("chatml"), nil, []string{"<|im_end|>"}},
		{Builtin("llama3"), nil, []string{"<|eot_id|>"}},
		{Builtin("gemma"), nil, []string{"<end_of_turn>"}},
		{Builtin("phi3"), nil, []string{"<|end|>"}},
		{"<|start|>assistant<|message|>x<|end|><|return|>", nil, []string{"<|return|>"}},
		{"<|im_end|><|endoftext|>", func(s string) bool { return s == "<|im_end|>" }, []string{"<|im_end|>"}},
	}
	for _, tc := range tests {
		if got := StopStrings(tc.src, tc.vocab); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("StopStrings(%.40q) = %q, want %q", tc.src, got, tc.want)
		}
	}
}
