package toolcall

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"inferenceruntime/inference/grammar"
)

// TestDetect reads real templates from the shared reference data.
func TestDetect(t *testing.T) {
	want := map[string]Format{
		"Qwen-Qwen2.5-7B-Instruct":                    Hermes,
		"NousResearch-Hermes-3-Llama-3.1-8B-tool_use": Hermes,
		"meta-llama-Llama-3.1-8B-Instruct":            Llama3,
		"mistralai-Mistral-Nemo-Instruct-2407":        Mistral,
		"Mistral-Small-3.2-24B-Instruct-2506":         MistralArgs,
		"google-gemma-4-31B-it":                       Gemma,
		"google-gemma-2-2b-it":                        Generic,
	}
	for dir, f := range want {
		src, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "templates", dir, "template.jinja"))
		if err != nil {
			t.Skipf("reference templates: %v", err)
		}
		if got := Detect(string(src)); got != f {
			t.Errorf("%s: detected %s, want %s", dir, got, f)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		f             Format
		text, content string
		names         []string
	}{
		{Hermes, "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>", "", []string{"a", "b"}},
		{Hermes, "Let me check.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>", "Let me check.", []string{"a"}},
		{Hermes, "no call here", "no call here", nil},
		{Llama3, `{"name": "a", "parameters": {"x": "y"}}`, "", []string{"a"}},
		{Llama3, `<|python_tag|>{"name": "a", "parameters": {}}; {"name": "b", "parameters": {}}`, "", []string{"a", "b"}},
		{Mistral, `[TOOL_CALLS][{"name": "a", "arguments": {"q": 1}, "id": "abc123def"}]`, "", []string{"a"}},
		{Mistral, `[{"name": "a", "arguments": {}}]`, "", []string{"a"}},
		{MistralArgs, `[TOOL_CALLS]a[CALL_ID]c1[ARGS]{"x": 1}[TOOL_CALLS]b[ARGS]{}`, "", []string{"a", "b"}},
		{Phi4, `<|tool_call|>[{"name": "a", "arguments": {}}]<|/tool_call|>`, "", []string{"a"}},
		{Gemma, `<|tool_call>call:get_weather{location:<|"|>Paris, France<|"|>,unit:<|"|>celsius<|"|>}<tool_call|>`, "", []string{"get_weather"}},
		{Gemma, `<|tool_call>call:a{"x": [1]}<tool_call|>`, "", []string{"a"}},
		{Generic, `{"name": "a", "arguments": "{\"x\": 2}"}`, "", []string{"a"}},
		{Generic, `{"not": "a call"}`, `{"not": "a call"}`, nil},
	}
	for _, c := range cases {
		content, calls := c.f.Parse(c.text)
		if content != c.content || len(calls) != len(c.names) {
			t.Errorf("%s %q: got %q %+v", c.f, c.text, content, calls)
			continue
		}
		for i, call := range calls {
			var v map[string]any
			if call.Name != c.names[i] || json.Unmarshal([]byte(call.Arguments), &v) != nil {
				t.Errorf("%s %q: call %d is %+v", c.f, c.text, i, call)
			}
		}
	}
	if got := Hermes.Split("Sure <tool_"); got != len("Sure ") {
		t.Errorf("Split held back %d", got)
	}
	if got := Llama3.Split(` {"na`); got != 0 {
		t.Errorf("Split of a JSON start: %d", got)
	}
}

// byteVocab is every byte as a token, and an end token.
type byteVocab struct{}

func (byteVocab) VocabSize() int { return 257 }
func (byteVocab) Piece(id int32) string {
	if id == 256 {
		return "</s>"
	}
	return string([]byte{byte(id)})
}
func (byteVocab) IsEOG(id int32) bool     { return id == 256 }
func (byteVocab) IsControl(id int32) bool { return false }

// TestGrammarRoundTrip: what each format's grammar forces, its parser reads
// back as calls of declared functions.
func TestGrammarRoundTrip(t *testing.T) {
	tools := []Tool{
		{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","maxLength":5}},"required":["city"]}`)},
		{Name: "noargs"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range []Format{Hermes, Llama3, Mistral, MistralArgs, Phi4, Gemma, Generic} {
		for _, parallel := range []bool{false, true} {
			g, err := f.Grammar(tools, "", parallel)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for range 10 {
				text := sampleText(t, g, rng, 200)
				_, calls := f.Parse(text)
				if len(calls) == 0 {
					t.Fatalf("%s: %q parsed into no calls", f, text)
				}
				for _, c := range calls {
					if c.Name != "get_weather" && c.Name != "noargs" {
						t.Fatalf("%s: %q: call of %q", f, text, c.Name)
					}
				}
			}
		}
	}
	if _, err := Hermes.Grammar(tools, "missing", false); err == nil {
		t.Error("a grammar for an undeclared function")
	}
}

func sampleText(t *testing.T, g *grammar.Grammar, rng *rand.Rand, budget int) string {
	c, err := grammar.NewConstraint(g, byteVocab{})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for n := budget; n > 0; n-- {
		c.SetBudget(n)
		var allowed []int32
		for id := int32(0); id < 257; id++ {
			if c.Allows(id) {
				allowed = append(allowed, id)
			}
		}
		if len(allowed) == 0 {
			t.Fatalf("stuck after %q", out)
		}
		id := allowed[rng.IntN(len(allowed))]
		if id == 256 {
			break
		}
		if err := c.Accept(id); err != nil {
			t.Fatal(err)
		}
		out = append(out, byte(id))
	}
	return string(out)
}
