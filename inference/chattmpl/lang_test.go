package chattmpl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLanguage renders every testdata/lang/NAME.jinja with the variables of
// NAME.json (when present) and compares with NAME.txt, or expects a failure
// where NAME.error exists. The expected files were produced by the reference
// Jinja2 configured as the transformers library configures it.
func TestLanguage(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "lang", "*.jinja"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no language tests found: %v", err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(f, ".jinja")
		t.Run(filepath.Base(base), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]any{}
			if data, err := os.ReadFile(base + ".json"); err == nil {
				if vars, err = VarsFromJSON(data); err != nil {
					t.Fatal(err)
				}
			}
			got, err := RenderString(string(src), vars, Options{Now: goldenNow})
			if want, readErr := os.ReadFile(base + ".txt"); readErr == nil {
				if err != nil {
					t.Fatalf("render failed: %v", err)
				}
				if got != string(want) {
					t.Fatalf("output differs at byte %d\n--- got ---\n%s\n--- want ---\n%s", firstDiff(got, string(want)), got, want)
				}
				return
			}
			want, readErr := os.ReadFile(base + ".error")
			if readErr != nil {
				t.Fatalf("no %s.txt or %s.error", base, base)
			}
			if err == nil {
				t.Fatalf("rendering succeeded, want %s; got:\n%s", want, got)
			}
			var te *Error
			if !asError(err, &te) || te.Msg == "" {
				t.Fatalf("error %v is not a template error", err)
			}
		})
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

// TestInvalidUTF8 renders text with invalid UTF-8 through the string
// filters and methods that split characters.
func TestInvalidUTF8(t *testing.T) {
	for _, src := range []string{
		"{% filter title %}\xcf{% endfilter %}",
		"{{ '\xcf\xff' | capitalize }}{{ '\xcfa' | title }}{{ '\xcf'.capitalize() }}{{ '\xcf'.title() }}",
		"{{ '\xcf'[0] }}{{ '\xcf\xff'[::-1] }}{{ '\xe3\x80' | trim | tojson }}{{ '\xcf' | wordcount }}",
	} {
		if _, err := RenderString(src, nil, Options{}); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

// TestSharedValues renders values built from shared parts: a list holding
// itself twice, doubled 50 times, prints as 2^50 elements. Printing it must
// stop at the size limit (it used to fill memory), and comparing two such
// values must not walk every path (it used to run for ever).
func TestSharedValues(t *testing.T) {
	const build = "{% set a = namespace(v=[1]) %}{% set b = namespace(v=[1]) %}" +
		"{% for i in range(50) %}{% set a.v = [a.v, a.v] %}{% set b.v = [b.v, b.v] %}{% endfor %}"
	for _, tc := range []struct{ src, want string }{
		{"{{ a.v == b.v }} {{ a.v == a.v }} {{ [a.v, 1] < [b.v, 2] }} {{ a.v in [b.v] }}", "True True True True"},
		{"{{ [b.v, a.v] | sort | length }} {{ a.v != [b.v[0], a.v[1]] }}", "2 False"},
		{"{{ a.v }}", "LimitError"},
		{"{{ a.v ~ '' }}", "LimitError"},
		{"{{ a.v | join(',') }}", "LimitError"},
		{"{{ '%s' % [a.v] }}", "LimitError"},
		{"{{ a.v is lower }}", "LimitError"},
		{"{{ raise_exception(a.v) }}", "LimitError"},
	} {
		got, err := RenderString(build+tc.src, nil, Options{})
		if err != nil {
			var te *Error
			if !asError(err, &te) || te.Kind != tc.want {
				t.Errorf("%s: %v, want %s", tc.src, err, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, got, tc.want)
		}
	}
}

// TestFormatIntegerLimit: integers are 64-bit here, so formatting a float
// beyond them as an integer is an OverflowError, never a wrong number
// (it printed -9223372036854775808).
func TestFormatIntegerLimit(t *testing.T) {
	for _, src := range []string{"{{ '%d' % 1e300 }}", "{{ '%x' % -1e19 }}", "{{ '%i' % (2.0 ** 63) }}"} {
		got, err := RenderString(src, nil, Options{})
		var te *Error
		if !asError(err, &te) || te.Kind != "OverflowError" {
			t.Errorf("%s = %q, %v; want an OverflowError", src, got, err)
		}
	}
	if got, err := RenderString("{{ '%d|%d' % (9.2e18, -2.0 ** 63) }}", nil, Options{}); err != nil || got != "9200000000000000000|-9223372036854775808" {
		t.Errorf("in range: %q, %v", got, err)
	}
}
