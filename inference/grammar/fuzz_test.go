package grammar

import (
	"errors"
	"testing"
)

// FuzzParse: any text either fails to parse or gives a grammar whose
// matcher answers without panicking or running away.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`root ::= "a"`, `root ::= [^a-z]* | ("x" root)?`, "root ::= a{2,5}\na ::= [\\u00e9-\\U0001F600] .", `root ::= "\x41"+`, JSONObject} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, src, text string) {
		g, err := Parse(src)
		if err != nil {
			return
		}
		if _, err := g.Match(text); err != nil && !errors.Is(err, errTooAmbiguous) {
			t.Fatalf("Match: %v", err)
		}
	})
}

// FuzzSchema: any schema is either refused with a SchemaError (a
// self-referencing schema such as {"anyOf":[{"$ref":"#"}]} included) or
// converted to a grammar that parses.
func FuzzSchema(f *testing.F) {
	for _, s := range []string{`{"type":"object","properties":{"a":{"type":"integer","minimum":-3}},"required":["a"]}`,
		`{"anyOf":[{"$ref":"#"},{"type":"array","prefixItems":[{"const":1}],"maxItems":3}]}`,
		`{"type":["string","null"],"minLength":1,"maxLength":4}`, `{"enum":[1,"a",null]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, schema string) {
		_, err := CompileJSONSchema([]byte(schema))
		var se *SchemaError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("schema %s: %v is not a SchemaError", schema, err)
		}
	})
}
