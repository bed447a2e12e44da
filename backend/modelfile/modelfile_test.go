package modelfile

import (
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	cases := []struct {
		name, src string
		want      File
	}{
		{"from only", "FROM llama3.2:1b\n", File{From: "llama3.2:1b"}},
		{"lower-case instructions and comments", "# a comment\nfrom ./m.gguf\n\n  # another\n", File{From: "./m.gguf"}},
		{"every instruction", `FROM base
ADAPTER /a/tone.gguf
ADAPTER /a/style.gguf:0.5
PARAMETER temperature 0.3
PARAMETER top_k 20
PARAMETER stop "<|end|>"
PARAMETER stop User:
PARAMETER seed -7
PARAMETER num_ctx 2048
SYSTEM """You are terse.
Very terse."""
TEMPLATE "{{ messages[0].content }}"
MESSAGE user Hi
MESSAGE assistant """Hello."""
LICENSE MIT
LICENSE """two
lines"""
`, File{From: "base",
			Adapters: []Adapter{{"/a/tone.gguf", 1}, {"/a/style.gguf", 0.5}},
			Parameters: Parameters{Temperature: ptr(0.3), TopK: ptr(20), Stop: []string{"<|end|>", "User:"},
				Seed: ptr(int64(-7)), NumCtx: ptr(2048)},
			System: ptr("You are terse.\nVery terse."), Template: ptr("{{ messages[0].content }}"),
			Messages: []Message{{"user", "Hi"}, {"assistant", "Hello."}},
			License:  []string{"MIT", "two\nlines"}}},
		{"escapes in quotes", `FROM "my model"` + "\n" + `SYSTEM "say \"hi\" \\ C:\x"`, File{From: "my model", System: ptr(`say "hi" \ C:\x`)}},
		{"windows adapter path", `FROM b` + "\nADAPTER C:\\lora.gguf", File{From: "b", Adapters: []Adapter{{`C:\lora.gguf`, 1}}}},
		{"crlf", "FROM b\r\nSYSTEM hi\r\n", File{From: "b", System: ptr("hi")}},
		{"empty system", `FROM b` + "\nSYSTEM \"\"\"\"\"\"", File{From: "b", System: ptr("")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.src)
			if err != nil {
				t.Fatal(err)
			}
			f.Lines = nil
			if !reflect.DeepEqual(*f, c.want) {
				t.Errorf("got  %+v\nwant %+v", *f, c.want)
			}
			again, err := Parse(Format(f))
			if err != nil {
				t.Fatalf("formatted file does not parse: %v\n%s", err, Format(f))
			}
			again.Lines = nil
			if !reflect.DeepEqual(again, f) {
				t.Errorf("round trip changed it:\n%s\ngot %+v", Format(f), *again)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"unknown instruction", "FROM b\nFORM c\n", `line 2: unknown instruction "FORM"`},
		{"no from", "SYSTEM hi\n", "no FROM instruction"},
		{"from twice", "FROM a\n\nFROM b", "line 3: FROM given twice (first on line 1)"},
		{"unknown parameter", "FROM a\nPARAMETER temprature 1", `line 2: unknown parameter "temprature"`},
		{"unsupported parameter", "FROM a\nPARAMETER mirostat 1", `line 2: parameter "mirostat" is not supported`},
		{"bad number", "FROM a\nPARAMETER top_k many", `line 2: parameter top_k: "many" is not a number`},
		{"not an integer", "FROM a\nPARAMETER top_k 1.5", "line 2: parameter top_k: 1.5 is not an integer"},
		{"out of range", "FROM a\nPARAMETER top_p 2", "line 2: parameter top_p: 2 is out of range [0, 1]"},
		{"parameter without value", "FROM a\nPARAMETER top_p\n", "line 2: PARAMETER top_p needs a value"},
		{"open block", "FROM a\nSYSTEM \"\"\"never\nclosed", `line 2: SYSTEM: the """ block is never closed`},
		{"open quote", "FROM a\n\nSYSTEM \"never", "line 3: SYSTEM: the quoted value is never closed"},
		{"text after quote", "FROM a\nSYSTEM \"x\" y", `line 2: SYSTEM: unexpected "y" after the closing quote`},
		{"bad role", "FROM a\nMESSAGE robot hi", `line 2: MESSAGE role "robot"`},
		{"bad scale", "FROM a\nADAPTER x.gguf:1e9", "line 2: ADAPTER: scale 1e+09"},
		{"line after block", "FROM a\nSYSTEM \"\"\"a\nb\"\"\"\nBOGUS", "line 4: unknown instruction"},
		{"not utf-8", "FROM \xff", "not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse(%q) = %v, want an error containing %q", c.src, err, c.want)
			}
		})
	}
}

func TestSplitScale(t *testing.T) {
	for _, c := range []struct {
		in    string
		path  string
		scale float64
	}{
		{"a.gguf", "a.gguf", 1}, {"a.gguf:0.5", "a.gguf", 0.5}, {`C:\a.gguf`, `C:\a.gguf`, 1},
		{`C:\a.gguf:2`, `C:\a.gguf`, 2}, {"dir:x/a.gguf", "dir:x/a.gguf", 1}, {"a:-1", "a", -1},
	} {
		p, s, err := SplitScale(c.in)
		if err != nil || p != c.path || s != c.scale {
			t.Errorf("SplitScale(%q) = %q, %v, %v; want %q, %v", c.in, p, s, err, c.path, c.scale)
		}
		if back, _, _ := SplitScale(JoinScale(p, s)); back != p {
			t.Errorf("JoinScale(%q, %v) does not split back", p, s)
		}
	}
	if p, s, _ := SplitScale(JoinScale("odd:2", 1)); p != "odd:2" || s != 1 {
		t.Errorf("a path that looks scaled: got %q %v", p, s)
	}
}

func TestParametersJSON(t *testing.T) {
	var ps Parameters
	for k, v := range map[string]string{"temperature": "0.5", "stop": `["a","b"]`, "num_predict": "10", "seed": "3"} {
		if err := ps.SetJSON(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(ps.Lines(), "|"); got != `temperature 0.5|num_predict 10|seed 3|stop "a"|stop "b"` {
		t.Errorf("lines %q", got)
	}
	if err := ps.SetJSON("top_k", []byte(`"x"`)); err == nil || !strings.Contains(err.Error(), "top_k: want a number") {
		t.Errorf("string top_k: %v", err)
	}
	if err := ps.SetJSON("nope", []byte(`1`)); err == nil || !strings.Contains(err.Error(), `unknown parameter "nope"`) {
		t.Errorf("unknown: %v", err)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// formats to a Modelfile it reads back the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM a\nSYSTEM \"\"\"x\"\"\"\n", "FROM a\nPARAMETER stop \"\\\"\"\nMESSAGE user \"q\\\\\"",
		"FROM b\nADAPTER x:0.5\nLICENSE \"\"\"\"a\"\"\"", "from c\ntemplate '{{x}}'\n#c\n", "FROM \"\"\"\n\"\"\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		m, err := Parse(src)
		if err != nil {
			return
		}
		m.Lines = nil
		out := Format(m)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Format wrote what Parse refuses: %v\n%s", err, out)
		}
		again.Lines = nil
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the file:\n%q\n%+v\n%+v", out, *m, *again)
		}
	})
}
