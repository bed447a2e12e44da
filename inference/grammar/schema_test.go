package grammar

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// testVocab has every printable ASCII byte, the bytes of multi-byte
// characters one by one (so characters split across tokens), some longer
// pieces, a control token and an end token.
type testVocab struct{ pieces []string }

func newTestVocab() *testVocab {
	v := &testVocab{pieces: []string{"</s>", "<ctl>", ""}}
	for b := 0x20; b < 0x7F; b++ {
		v.pieces = append(v.pieces, string(rune(b)))
	}
	for b := 0x80; b < 0x100; b++ {
		v.pieces = append(v.pieces, string([]byte{byte(b)}))
	}
	v.pieces = append(v.pieces, "\n", `{"`, `":`, `",`, `"}`, "true", "null", "é", "☃", "😀", "\xe2\x98", "\x83x", `\u00e9`, "2024-", "-01", "name")
	return v
}

func (v *testVocab) VocabSize() int          { return len(v.pieces) }
func (v *testVocab) Piece(id int32) string   { return v.pieces[id] }
func (v *testVocab) IsEOG(id int32) bool     { return id == 0 }
func (v *testVocab) IsControl(id int32) bool { return id == 1 }

// generate draws a random string of g within budget tokens, the way the
// engine does: only allowed tokens, ending with the end token.
func generate(t testing.TB, g *Grammar, v *testVocab, rng *rand.Rand, budget int) string {
	t.Helper()
	c, err := NewConstraint(g, v)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for n := budget; ; n-- {
		c.SetBudget(n)
		var allowed []int32
		for id := range int32(v.VocabSize()) {
			if c.Allows(id) {
				allowed = append(allowed, id)
			}
		}
		if len(allowed) == 0 {
			if c.Complete() {
				return out.String() // the budget ran out exactly at the end
			}
			t.Fatalf("no token allowed after %q (budget %d)", out.String(), n)
		}
		id := allowed[rng.IntN(len(allowed))]
		if v.IsEOG(id) {
			if n < 0 {
				t.Fatalf("over budget")
			}
			return out.String()
		}
		if err := c.Accept(id); err != nil {
			t.Fatal(err)
		}
		out.WriteString(v.Piece(id))
		if n <= 0 {
			t.Fatalf("generated past the budget: %q", out.String())
		}
	}
}

func TestSchemaOutputsValidate(t *testing.T) {
	schemas := []string{
		`{}`,
		`true`,
		`{"type": "object"}`,
		`{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150}}, "required": ["name", "age"]}`,
		`{"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}, "c": {"type": "number"}}}`,
		`{"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}`,
		`{"type": "object", "properties": {"ab": {"const": 1}, "a": {"const": 2}}, "additionalProperties": true, "required": ["a"]}`,
		`{"type": ["string", "integer", "null"]}`,
		`{"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 17}, "minItems": 2, "maxItems": 4}`,
		`{"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "items": false, "minItems": 1}`,
		`{"type": "array", "prefixItems": [{"const": "x"}], "items": {"type": "null"}, "minItems": 3}`,
		`{"enum": ["red", "green", 3, null, {"k": [1, "two"]}]}`,
		`{"const": {"b": 1, "a": [true]}}`,
		`{"anyOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 100}]}`,
		`{"oneOf": [{"type": "boolean"}, {"type": "array", "maxItems": 0}]}`,
		`{"allOf": [{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}, {"$ref": "#/$defs/y"}], "$defs": {"y": {"properties": {"y": {"type": "string"}}, "required": ["y"]}}}`,
		`{"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}, "required": ["v", "next"]}}}`,
		`{"type": "string", "minLength": 3, "maxLength": 5}`,
		`{"type": "string", "minLength": 2}`,
		`{"type": "string", "format": "date"}`,
		`{"type": "string", "format": "time"}`,
		`{"type": "string", "format": "date-time"}`,
		`{"type": "string", "format": "uuid"}`,
		`{"type": "integer", "exclusiveMinimum": -1000, "exclusiveMaximum": -7}`,
		`{"type": "integer", "minimum": 98}`,
		`{"type": "integer", "maximum": -12}`,
		`{"type": "integer", "minimum": 0, "maximum": 0}`,
		`{"type": "integer", "minimum": 123, "maximum": 4567}`,
		`{"title": "T", "description": "d", "type": "object", "properties": {"é☃": {"type": "string"}}, "required": ["é☃"]}`,
	}
	v := newTestVocab()
	for i, src := range schemas {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			g, err := CompileJSONSchema([]byte(src))
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			var schema any
			json.Unmarshal([]byte(src), &schema)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for run := range 40 {
				budget := 40 + run*10
				out := generate(t, g, v, rng, budget)
				var val any
				if err := json.Unmarshal([]byte(out), &val); err != nil {
					t.Fatalf("%s: output %q is not JSON: %v", src, out, err)
				}
				if err := validate(schema, schema, val); err != nil {
					t.Fatalf("%s: output %q does not validate: %v", src, out, err)
				}
				if ok, err := g.Match(out); !ok || err != nil {
					t.Fatalf("%q: Match says %v %v", out, ok, err)
				}
			}
		})
	}
}

func TestSchemaErrors(t *testing.T) {
	cases := []struct{ schema, keyword string }{
		{`{"type": "string", "pattern": "^a"}`, "pattern"},
		{`{"type": "number", "minimum": 1}`, "minimum"},
		{`{"type": "object", "minProperties": 1}`, "minProperties"},
		{`{"type": "string", "format": "email"}`, "format"},
		{`{"type": "strnig"}`, "type"},
		{`{"$ref": "http://example.com/s.json"}`, "$ref"},
		{`{"$ref": "#/$defs/missing"}`, "$ref"},
		{`{"type": "array", "minItems": 3, "maxItems": 2}`, "maxItems"},
		{`{"type": "integer", "minimum": 5, "maximum": 4}`, "maximum"},
		{`{"enum": []}`, "enum"},
		{`{"type": "string", "maxLength": 1000000}`, "maxLength"},
		{`{"properties": {"a": {"not": {}}}}`, "not"},
		{`{"type": "object", "properties": {}, "required": ["x"]}`, "required"},
	}
	for _, c := range cases {
		_, err := CompileJSONSchema([]byte(c.schema))
		var se *SchemaError
		if !errors.As(err, &se) || se.Keyword != c.keyword {
			t.Errorf("%s: got %v, want a SchemaError on %q", c.schema, err, c.keyword)
		}
	}
	if _, err := CompileJSONSchema([]byte(`{"type":`)); err == nil {
		t.Error("malformed JSON accepted")
	}
	deep := strings.Repeat(`{"items":`, 100) + "{}" + strings.Repeat("}", 100)
	if _, err := CompileJSONSchema([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep schema: %v", err)
	}
}

// validate checks val against the subset of JSON Schema the converter
// supports, independently of it.
func validate(root, s, val any) error {
	if b, ok := s.(bool); ok {
		if !b {
			return errors.New("false schema")
		}
		return nil
	}
	m := s.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		cur := root
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[p]
		}
		return validate(root, cur, val)
	}
	if c, ok := m["const"]; ok && !jsonEqual(c, val) {
		return fmt.Errorf("%v is not the const %v", val, c)
	}
	if e, ok := m["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || jsonEqual(x, val)
		}
		if !found {
			return fmt.Errorf("%v not in enum", val)
		}
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		if list, ok := m[kw].([]any); ok {
			n := 0
			for _, sub := range list {
				if validate(root, sub, val) == nil {
					n++
				}
			}
			if n == 0 || kw == "oneOf" && n > 1 {
				return fmt.Errorf("%s matched %d", kw, n)
			}
		}
	}
	if list, ok := m["allOf"].([]any); ok {
		for _, sub := range list {
			if err := validate(root, sub, val); err != nil {
				return err
			}
		}
	}
	if t, ok := m["type"]; ok {
		types := []any{t}
		if l, ok := t.([]any); ok {
			types = l
		}
		found := false
		for _, x := range types {
			found = found || hasType(x.(string), val)
		}
		if !found {
			return fmt.Errorf("%v is not of type %v", val, t)
		}
	}
	switch x := val.(type) {
	case map[string]any:
		props, _ := m["properties"].(map[string]any)
		for _, r := range asList(m["required"]) {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("missing %v", r)
			}
		}
		for k, v := range x {
			if ps, ok := props[k]; ok {
				if err := validate(root, ps, v); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
			} else if ap, ok := m["additionalProperties"]; ok {
				if err := validate(root, ap, v); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
			}
		}
	case []any:
		prefix := asList(m["prefixItems"])
		for i, e := range x {
			sub, ok := m["items"]
			if i < len(prefix) {
				sub, ok = prefix[i], true
			}
			if ok {
				if err := validate(root, sub, e); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		}
		if n, ok := m["minItems"].(float64); ok && float64(len(x)) < n {
			return errors.New("too few items")
		}
		if n, ok := m["maxItems"].(float64); ok && float64(len(x)) > n {
			return errors.New("too many items")
		}
	case string:
		n := float64(utf8.RuneCountInString(x))
		if l, ok := m["minLength"].(float64); ok && n < l {
			return errors.New("too short")
		}
		if l, ok := m["maxLength"].(float64); ok && n > l {
			return errors.New("too long")
		}
		if f, ok := m["format"].(string); ok && !formatRE[f].MatchString(x) {
			return fmt.Errorf("%q is not a %s", x, f)
		}
	case float64:
		if l, ok := m["minimum"].(float64); ok && x < l {
			return errors.New("below minimum")
		}
		if l, ok := m["maximum"].(float64); ok && x > l {
			return errors.New("above maximum")
		}
		if l, ok := m["exclusiveMinimum"].(float64); ok && x <= l {
			return errors.New("below exclusiveMinimum")
		}
		if l, ok := m["exclusiveMaximum"].(float64); ok && x >= l {
			return errors.New("above exclusiveMaximum")
		}
	}
	return nil
}

var formatRE = map[string]*regexp.Regexp{
	"date":      regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`),
	"time":      regexp.MustCompile(`^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`),
	"date-time": regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`),
	"uuid":      regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
}

func asList(v any) []any { l, _ := v.([]any); return l }

func hasType(t string, v any) bool {
	switch x := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case float64:
		return t == "number" || t == "integer" && x == math.Trunc(x)
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
