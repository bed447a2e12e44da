package chattmpl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzVars is the fixed context every fuzzed template renders with.
func fuzzVars() map[string]any {
	vars, err := VarsFromJSON([]byte(`{
		"messages": [
			{"role": "system", "content": "sys"},
			{"role": "user", "content": "héllo {{ x }}"},
			{"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
				"function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 2.5]}}}]},
			{"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": 1}"}
		],
		"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
		"add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "n": 3, "f": 1.5
	}`))
	if err != nil {
		panic(err)
	}
	return vars
}

// FuzzTemplate parses and renders arbitrary template source: it must never
// panic or hang, and every failure must be a template *Error.
func FuzzTemplate(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "lang", "*.jinja"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(string(data))
		}
	}
	for _, name := range BuiltinNames() {
		f.Add(Builtin(name))
	}
	f.Add("{% macro m(x) %}{{ m(x) }}{% endmacro %}{{ m(1) }}")
	f.Add("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}")
	f.Add("{% set s = 'ab' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}")
	vars := fuzzVars()
	opts := Options{Now: goldenNow, Limits: Limits{MaxSteps: 200_000, MaxOutput: 1 << 20, MaxDepth: 200}}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("parse error is not a template error: %v", err)
			}
			return
		}
		out, err := tmpl.Execute(vars, opts)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("render error is not a template error: %v", err)
			}
			return
		}
		if len(out) > opts.Limits.MaxOutput {
			t.Fatalf("output of %d bytes exceeds the limit", len(out))
		}
	})
}
