package grammar

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		name, src string
		yes, no   []string
	}{
		{"literal", `root ::= "ab" "c"`, []string{"abc"}, []string{"ab", "abcd", ""}},
		{"alternatives", `root ::= "a" | "bc" | ""`, []string{"a", "bc", ""}, []string{"b", "abc"}},
		{"class", `root ::= [a-c0-9]+`, []string{"a", "c9b"}, []string{"", "d", "a-"}},
		{"negated", `root ::= [^"\\]*`, []string{"", "xyz", "é☃"}, []string{`"`, `a\`}},
		{"any", `root ::= . .`, []string{"ab", "é☃"}, []string{"a", "abc"}},
		{"repeat", `root ::= "x"{2,3}`, []string{"xx", "xxx"}, []string{"x", "xxxx"}},
		{"repeat-exact", `root ::= ("ab"){2}`, []string{"abab"}, []string{"ab", "ababab"}},
		{"repeat-open", `root ::= [0-9]{2,}`, []string{"12", "12345"}, []string{"1"}},
		{"optional", `root ::= "a"? "b"`, []string{"ab", "b"}, []string{"a", "aab"}},
		{"escapes", `root ::= "\n\t\x41\u00e9\U0001F600\""`, []string{"\n\tAé😀\""}, []string{"x"}},
		{"nested", "root ::= (\n  \"(\" root \")\" # comment\n  | \"\"\n)", []string{"", "()", "(())"}, []string{"(", "())"}},
		{"refs", "root ::= a b\na ::= \"x\"\nb ::= a*", []string{"x", "xxx"}, []string{""}},
		{"unicode-class", `root ::= [à-ÿ]`, []string{"é"}, []string{"e", "ā"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Parse(c.src)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.yes {
				if ok, err := g.Match(s); !ok || err != nil {
					t.Errorf("%q: want a match, got %v %v", s, ok, err)
				}
			}
			for _, s := range c.no {
				if ok, err := g.Match(s); ok || err != nil {
					t.Errorf("%q: want no match, got %v %v", s, ok, err)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`root ::= "a`, "unterminated string"},
		{`root ::= [a-`, "unterminated character class"},
		{`root ::= x`, `rule "x" is used but never defined`},
		{`a ::= "x"`, `no rule named "root"`},
		{`root ::= root "x" | "y"`, "left recursive"},
		{"root ::= a \"x\"\na ::= b root\nb ::= \"x\"?", "left recursive"},
		{`root ::= "a" b ::= "c"`, "missing line break"},
		{`root ::= *`, "must follow something"},
		{`root ::= "a"{3,2}`, "maximum below its minimum"},
		{`root ::= "a"{99999}`, "repetition count"},
		{`root ::= [^\x00-\U0010FFFF]`, "cannot produce any string"},
		{"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
		{`root ::= "\q"`, "unknown escape"},
		{`root ::= <think>`, "token references"},
		{`root ::= ` + strings.Repeat("(", 100) + `"a"` + strings.Repeat(")", 100), "nested more than"},
		{`root ::= "` + strings.Repeat("x", 30) + `"{10000}`, "larger than"},
		{``, "no rules"},
	}
	for _, c := range cases {
		_, err := Parse(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.src, err, c.want)
		}
	}
}
