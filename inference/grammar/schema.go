package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// SchemaError is a JSON Schema the converter cannot honour. Keyword names
// the offending keyword so that an API can say which one.
type SchemaError struct {
	Path    string // JSON pointer of the schema that holds it
	Keyword string
	Msg     string
}

func (e *SchemaError) Error() string {
	at := e.Path
	if at == "" {
		at = "#"
	}
	if e.Keyword == "" {
		return fmt.Sprintf("schema at %s: %s", at, e.Msg)
	}
	return fmt.Sprintf("schema at %s: %q %s", at, e.Keyword, e.Msg)
}

// Limits of the converter, on top of the grammar's own.
const (
	maxSchemaDepth = 64
	maxSchemaBytes = 1 << 20
)

// jsonPrimitives are the shared rules of JSON text. Whitespace is at most
// one space between tokens: a model cannot spend its budget on blanks, and
// the output still reads as JSON. Numbers keep to 16 digits and two-digit
// exponents, so every parser reads them as finite doubles.
var jsonPrimitives = []struct{ name, body string }{
	{"space", `" "?`},
	{"char", `[^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})`},
	{"string", `"\"" char* "\""`},
	{"integer", `"-"? ("0" | [1-9] [0-9]{0,15})`},
	{"number", `"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?`},
	{"boolean", `"true" | "false"`},
	{"null", `"null"`},
	{"value", `object | array | string | number | boolean | null`},
	{"object", `"{" space (string space ":" space value space ("," space string space ":" space value space)*)? "}"`},
	{"array", `"[" space (value space ("," space value space)*)? "]"`},
}

// formats are the string formats with a grammar, as RFC 3339 and RFC 4122
// write them. Dates only use days every month has (29 February is left
// out), so whatever is generated is a real date.
var formats = map[string]string{
	"date": `[0-9]{4} "-" (("01" | "03" | "05" | "07" | "08" | "10" | "12") "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("04" | "06" | "09" | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))`,
	"time": `([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])`,
	"uuid": `[0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}`,
}

// JSONObject is the grammar of any JSON object (OpenAI's json_object,
// Ollama's format "json").
var JSONObject = func() string {
	c := newConverter(nil)
	c.define("root", c.use("object"))
	return c.source("root")
}()

// JSONValue is the grammar of any JSON value.
var JSONValue = func() string {
	c := newConverter(nil)
	c.define("root", c.use("value"))
	return c.source("root")
}()

// FromJSONSchema converts a JSON Schema into GBNF whose strings are JSON
// texts valid against it. Keywords that would constrain the value but have
// no grammar here (pattern, multipleOf, ...) are a *SchemaError naming the
// keyword, never silently dropped.
func FromJSONSchema(schema []byte) (string, error) {
	if len(schema) > maxSchemaBytes {
		return "", &SchemaError{Msg: fmt.Sprintf("is larger than %d bytes", maxSchemaBytes)}
	}
	doc, err := decodeOrdered(schema)
	if err != nil {
		return "", &SchemaError{Msg: "is not valid JSON: " + err.Error()}
	}
	c := newConverter(doc)
	expr, err := c.visit(doc, "", 0)
	if err != nil {
		return "", err
	}
	c.define("root", expr)
	src := c.source("root")
	if len(src) > MaxSourceBytes {
		return "", &SchemaError{Msg: "produces a grammar larger than the limit"}
	}
	return src, nil
}

// CompileJSONSchema is FromJSONSchema followed by Parse.
func CompileJSONSchema(schema []byte) (*Grammar, error) {
	src, err := FromJSONSchema(schema)
	if err != nil {
		return nil, err
	}
	g, err := Parse(src)
	if err != nil {
		return nil, &SchemaError{Msg: "the grammar it makes is refused: " + err.Error()}
	}
	return g, nil
}

// object is a JSON object with its keys in document order: properties are
// generated in the order the schema lists them.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the schema")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 2*maxSchemaDepth+8 {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			var list []any
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token()
			return list, err
		}
		o := &object{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
		}
		_, err := dec.Token()
		return o, err
	}
	return tok, nil
}

// toPlain turns decoded values back into something encoding/json writes
// in the same key order (for const and enum literals).
func marshalOrdered(v any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case *object:
			b.WriteByte('{')
			for i, k := range x.keys {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				walk(x.vals[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteByte(',')
				}
				walk(e)
			}
			b.WriteByte(']')
		default:
			vb, _ := json.Marshal(x)
			b.Write(vb)
		}
	}
	walk(v)
	return b.String()
}

type converter struct {
	doc   any
	rules map[string]string
	order []string
	refs  map[string]string // $ref -> rule name
	n     int
}

func newConverter(doc any) *converter {
	return &converter{doc: doc, rules: map[string]string{}, refs: map[string]string{}}
}

// use defines a primitive rule and those it needs.
func (c *converter) use(name string) string {
	if _, ok := c.rules[name]; ok {
		return name
	}
	deps := map[string][]string{
		"string": {"char"}, "object": {"space", "string", "value"}, "array": {"space", "value"},
		"value": {"object", "array", "string", "number", "boolean", "null"},
	}
	for _, p := range jsonPrimitives {
		if p.name == name {
			c.define(name, p.body)
			for _, d := range deps[name] {
				c.use(d)
			}
			return name
		}
	}
	return name
}

func (c *converter) define(name, body string) {
	if _, ok := c.rules[name]; !ok {
		c.order = append(c.order, name)
	}
	c.rules[name] = body
}

// rule names a new rule with body.
func (c *converter) rule(body string) string {
	c.n++
	name := fmt.Sprintf("s%d", c.n)
	c.define(name, body)
	return name
}

func (c *converter) source(root string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ::= %s\n", root, c.rules[root])
	for _, n := range c.order {
		if n != root {
			fmt.Fprintf(&b, "%s ::= %s\n", n, c.rules[n])
		}
	}
	return b.String()
}

// literal writes text as a GBNF string literal.
func literal(text string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range text {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7F:
			fmt.Fprintf(&b, `\x%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// annotations are keywords that describe a value without constraining it.
var annotations = map[string]bool{
	"title": true, "description": true, "$schema": true, "$id": true, "$comment": true, "default": true,
	"examples": true, "deprecated": true, "readOnly": true, "writeOnly": true, "$defs": true, "definitions": true,
	"$anchor": true,
}

// supported lists, per keyword, that it is handled.
var supported = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true, "items": true,
	"prefixItems": true, "enum": true, "const": true, "anyOf": true, "oneOf": true, "allOf": true, "$ref": true,
	"minItems": true, "maxItems": true, "minLength": true, "maxLength": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true, "format": true,
}

func (c *converter) errf(path, kw, format string, args ...any) error {
	return &SchemaError{Path: path, Keyword: kw, Msg: fmt.Sprintf(format, args...)}
}

// visit returns a GBNF expression for the values s accepts.
func (c *converter) visit(s any, path string, depth int) (string, error) {
	if depth > maxSchemaDepth {
		return "", c.errf(path, "", "is nested more than %d levels deep", maxSchemaDepth)
	}
	switch x := s.(type) {
	case bool:
		if x {
			return c.use("value"), nil
		}
		return "", c.errf(path, "", "is false: no value is valid")
	case *object:
		return c.visitObject(x, path, depth)
	}
	return "", c.errf(path, "", "must be an object or a boolean")
}

func (c *converter) visitObject(s *object, path string, depth int) (string, error) {
	for _, k := range s.keys {
		if !supported[k] && !annotations[k] {
			return "", c.errf(path, k, "is not supported")
		}
	}
	if ref, ok := s.get("$ref"); ok {
		if len(s.keys) > 1 {
			for _, k := range s.keys {
				if k != "$ref" && supported[k] {
					return "", c.errf(path, k, "next to $ref is not supported")
				}
			}
		}
		return c.visitRef(ref, path, depth)
	}
	if v, ok := s.get("const"); ok {
		return literal(marshalOrdered(v)), nil
	}
	if v, ok := s.get("enum"); ok {
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return "", c.errf(path, "enum", "must be a non-empty array")
		}
		alts := make([]string, len(list))
		for i, e := range list {
			alts[i] = literal(marshalOrdered(e))
		}
		return "(" + strings.Join(alts, " | ") + ")", nil
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		if v, ok := s.get(kw); ok {
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return "", c.errf(path, kw, "must be a non-empty array of schemas")
			}
			var alts []string
			for i, sub := range list {
				e, err := c.visit(withSiblings(sub, s, kw), fmt.Sprintf("%s/%s/%d", path, kw, i), depth+1)
				if err != nil {
					return "", err
				}
				alts = append(alts, e)
			}
			return "(" + strings.Join(alts, " | ") + ")", nil
		}
	}
	if v, ok := s.get("allOf"); ok {
		merged, err := c.mergeAllOf(s, v, path)
		if err != nil {
			return "", err
		}
		return c.visit(merged, path, depth+1)
	}
	types, err := c.types(s, path)
	if err != nil {
		return "", err
	}
	var alts []string
	for _, t := range types {
		e, err := c.visitType(s, t, path, depth)
		if err != nil {
			return "", err
		}
		alts = append(alts, e)
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return "(" + strings.Join(alts, " | ") + ")", nil
}

// withSiblings applies the keywords next to anyOf/oneOf (say, a shared
// "type") to each alternative.
func withSiblings(sub any, parent *object, skip string) any {
	so, ok := sub.(*object)
	if !ok {
		return sub
	}
	out := &object{vals: map[string]any{}}
	for _, k := range parent.keys {
		if k != skip && supported[k] {
			out.keys = append(out.keys, k)
			out.vals[k] = parent.vals[k]
		}
	}
	for _, k := range so.keys {
		if _, dup := out.vals[k]; !dup {
			out.keys = append(out.keys, k)
		}
		out.vals[k] = so.vals[k]
	}
	return out
}

func (c *converter) visitRef(ref any, path string, depth int) (string, error) {
	r, ok := ref.(string)
	if !ok {
		return "", c.errf(path, "$ref", "must be a string")
	}
	if name, ok := c.refs[r]; ok {
		return name, nil
	}
	target, err := c.resolve(r, path)
	if err != nil {
		return "", err
	}
	// Named before it is converted, so that a recursive schema refers to
	// its own rule.
	c.n++
	name := fmt.Sprintf("ref%d", c.n)
	c.refs[r] = name
	c.define(name, `""`)
	body, err := c.visit(target, strings.TrimPrefix(r, "#"), depth+1)
	if err != nil {
		return "", err
	}
	c.define(name, body)
	return name, nil
}

// resolve follows a local JSON pointer ("#", "#/$defs/x").
func (c *converter) resolve(ref, path string) (any, error) {
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return nil, c.errf(path, "$ref", "%q: only references inside the schema (#/...) are supported", ref)
	}
	cur := c.doc
	for _, part := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(ref, "#"), "/"), "/") {
		if part == "" {
			continue
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch x := cur.(type) {
		case *object:
			v, ok := x.get(part)
			if !ok {
				return nil, c.errf(path, "$ref", "%q points at nothing", ref)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, c.errf(path, "$ref", "%q points at nothing", ref)
			}
			cur = x[i]
		default:
			return nil, c.errf(path, "$ref", "%q points at nothing", ref)
		}
	}
	return cur, nil
}

// mergeAllOf folds allOf's schemas (and the keywords beside it) into one:
// object schemas merge their properties and required lists; any other
// keyword must agree where it appears twice.
func (c *converter) mergeAllOf(s *object, v any, path string) (*object, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, c.errf(path, "allOf", "must be a non-empty array of schemas")
	}
	out := &object{vals: map[string]any{}}
	props := &object{vals: map[string]any{}}
	var required []any
	add := func(sub *object, at string) error {
		for _, k := range sub.keys {
			val := sub.vals[k]
			switch {
			case annotations[k] || k == "allOf":
			case k == "properties":
				po, ok := val.(*object)
				if !ok {
					return c.errf(at, k, "must be an object")
				}
				for _, pk := range po.keys {
					if _, dup := props.vals[pk]; dup {
						return c.errf(at, "allOf", "defines property %q twice", pk)
					}
					props.keys = append(props.keys, pk)
					props.vals[pk] = po.vals[pk]
				}
			case k == "required":
				r, _ := val.([]any)
				required = append(required, r...)
			default:
				if old, dup := out.vals[k]; dup && marshalOrdered(old) != marshalOrdered(val) {
					return c.errf(at, k, "differs between the schemas of allOf")
				}
				if _, dup := out.vals[k]; !dup {
					out.keys = append(out.keys, k)
				}
				out.vals[k] = val
			}
		}
		return nil
	}
	if err := add(s, path); err != nil {
		return nil, err
	}
	for i, sub := range list {
		at := fmt.Sprintf("%s/allOf/%d", path, i)
		so, ok := sub.(*object)
		for depth := 0; ok; depth++ {
			r, isRef := so.get("$ref")
			if !isRef {
				break
			}
			rs, _ := r.(string)
			target, err := c.resolve(rs, at)
			if err != nil {
				return nil, err
			}
			if so, ok = target.(*object); depth > maxSchemaDepth {
				return nil, c.errf(at, "$ref", "references chain more than %d times", maxSchemaDepth)
			}
		}
		if !ok {
			return nil, c.errf(at, "", "must be an object")
		}
		if err := add(so, at); err != nil {
			return nil, err
		}
	}
	if len(props.keys) > 0 {
		out.keys = append(out.keys, "properties")
		out.vals["properties"] = props
	}
	if len(required) > 0 {
		out.keys = append(out.keys, "required")
		out.vals["required"] = required
	}
	return out, nil
}

var jsonTypes = []string{"object", "array", "string", "integer", "number", "boolean", "null"}

// types lists the types s allows, inferred from its keywords when "type"
// is absent.
func (c *converter) types(s *object, path string) ([]string, error) {
	v, ok := s.get("type")
	if !ok {
		has := func(kws ...string) bool {
			for _, k := range kws {
				if _, ok := s.get(k); ok {
					return true
				}
			}
			return false
		}
		switch {
		case has("properties", "additionalProperties", "required"):
			return []string{"object"}, nil
		case has("items", "prefixItems", "minItems", "maxItems"):
			return []string{"array"}, nil
		case has("minLength", "maxLength", "format"):
			return []string{"string"}, nil
		case has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
			return []string{"number"}, nil
		}
		return []string{"any"}, nil
	}
	var list []string
	switch x := v.(type) {
	case string:
		list = []string{x}
	case []any:
		for _, e := range x {
			t, ok := e.(string)
			if !ok {
				return nil, c.errf(path, "type", "must list type names")
			}
			list = append(list, t)
		}
	default:
		return nil, c.errf(path, "type", "must be a string or an array of strings")
	}
	if len(list) == 0 {
		return nil, c.errf(path, "type", "is an empty list: no value is valid")
	}
	for _, t := range list {
		found := false
		for _, k := range jsonTypes {
			found = found || k == t
		}
		if !found {
			return nil, c.errf(path, "type", "%q is not a JSON Schema type", t)
		}
	}
	return list, nil
}

func (c *converter) visitType(s *object, t, path string, depth int) (string, error) {
	switch t {
	case "any":
		return c.use("value"), nil
	case "object":
		return c.visitObjectType(s, path, depth)
	case "array":
		return c.visitArray(s, path, depth)
	case "string":
		return c.visitString(s, path)
	case "integer":
		return c.visitInteger(s, path)
	case "number":
		for _, k := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} {
			if _, ok := s.get(k); ok {
				return "", c.errf(path, k, "is supported for integers only, not numbers")
			}
		}
		return c.use("number"), nil
	case "boolean":
		return c.use("boolean"), nil
	}
	return c.use("null"), nil
}

// count reads a non-negative integer keyword; -1 when absent.
func (c *converter) count(s *object, kw, path string) (int, error) {
	v, ok := s.get(kw)
	if !ok {
		return -1, nil
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < 0 {
		return 0, c.errf(path, kw, "must be a non-negative integer")
	}
	if i > MaxRepeat {
		return 0, c.errf(path, kw, "is above the limit of %d", MaxRepeat)
	}
	return int(i), nil
}

func (c *converter) visitString(s *object, path string) (string, error) {
	if v, ok := s.get("format"); ok {
		f, _ := v.(string)
		body, known := formats[f]
		switch {
		case f == "date-time":
			body = "(" + formats["date"] + `) "T" (` + formats["time"] + ")"
		case !known:
			return "", c.errf(path, "format", "%q is not supported (date, time, date-time and uuid are)", f)
		}
		for _, k := range []string{"minLength", "maxLength"} {
			if _, ok := s.get(k); ok {
				return "", c.errf(path, k, "together with format is not supported")
			}
		}
		return c.rule(`"\"" ` + body + ` "\""`), nil
	}
	lo, err := c.count(s, "minLength", path)
	if err != nil {
		return "", err
	}
	hi, err := c.count(s, "maxLength", path)
	if err != nil {
		return "", err
	}
	if lo < 0 && hi < 0 {
		return c.use("string"), nil
	}
	lo = max(lo, 0)
	if hi >= 0 && hi < lo {
		return "", c.errf(path, "maxLength", "is below minLength")
	}
	c.use("char")
	if hi < 0 {
		return c.rule(fmt.Sprintf(`"\"" char{%d,} "\""`, lo)), nil
	}
	return c.rule(fmt.Sprintf(`"\"" char{%d,%d} "\""`, lo, hi)), nil
}

// bound reads an integer bound; inclusive, nil when absent.
func (c *converter) bound(s *object, kw, exclusive, path string, dir float64) (*int64, error) {
	var out *int64
	for _, k := range []string{kw, exclusive} {
		v, ok := s.get(k)
		if !ok {
			continue
		}
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || math.Abs(f) > 1e15 {
			return nil, c.errf(path, k, "must be a number of at most 15 digits")
		}
		// The nearest integer inside the bound.
		var b float64
		if dir > 0 {
			b = math.Ceil(f)
			if k == exclusive && b == f {
				b++
			}
		} else {
			b = math.Floor(f)
			if k == exclusive && b == f {
				b--
			}
		}
		i := int64(b)
		if out == nil || dir > 0 && i > *out || dir < 0 && i < *out {
			out = &i
		}
	}
	return out, nil
}

func (c *converter) visitInteger(s *object, path string) (string, error) {
	lo, err := c.bound(s, "minimum", "exclusiveMinimum", path, 1)
	if err != nil {
		return "", err
	}
	hi, err := c.bound(s, "maximum", "exclusiveMaximum", path, -1)
	if err != nil {
		return "", err
	}
	if lo == nil && hi == nil {
		return c.use("integer"), nil
	}
	if lo != nil && hi != nil && *lo > *hi {
		return "", c.errf(path, "maximum", "is below minimum: no integer fits")
	}
	return c.rule(intRange(lo, hi)), nil
}

func (c *converter) visitArray(s *object, path string, depth int) (string, error) {
	m, err := c.count(s, "minItems", path)
	if err != nil {
		return "", err
	}
	maxN, err := c.count(s, "maxItems", path)
	if err != nil {
		return "", err
	}
	m = max(m, 0)
	var tuple []string
	if v, ok := s.get("prefixItems"); ok {
		list, ok := v.([]any)
		if !ok {
			return "", c.errf(path, "prefixItems", "must be an array of schemas")
		}
		for i, sub := range list {
			e, err := c.visit(sub, fmt.Sprintf("%s/prefixItems/%d", path, i), depth+1)
			if err != nil {
				return "", err
			}
			tuple = append(tuple, e)
		}
	}
	item, noMore := c.use("value"), false
	if v, ok := s.get("items"); ok {
		if b, isBool := v.(bool); isBool && !b {
			noMore = true
		} else if item, err = c.visit(v, path+"/items", depth+1); err != nil {
			return "", err
		}
	}
	if noMore && (maxN < 0 || maxN > len(tuple)) {
		maxN = len(tuple)
	}
	if maxN >= 0 && maxN < m {
		return "", c.errf(path, "maxItems", "is below minItems (or the items allowed)")
	}
	// tail(i) is what may follow element i-1: element i (required below
	// minItems) or, past the tuple, any number of further items.
	var tail func(i int) string
	tail = func(i int) string {
		if maxN >= 0 && i >= maxN {
			return ""
		}
		if i >= len(tuple) {
			hi := "" // unbounded
			if maxN >= 0 {
				hi = strconv.Itoa(maxN - i)
			}
			return fmt.Sprintf(`("," space %s space){%d,%s}`, item, max(m-i, 0), hi)
		}
		el := `"," space ` + tuple[i] + " space " + tail(i+1)
		if i < m {
			return el
		}
		return "(" + el + ")?"
	}
	c.use("space")
	if maxN == 0 {
		return c.rule(`"[" space "]"`), nil
	}
	first := item
	if len(tuple) > 0 {
		first = tuple[0]
	}
	body := first + " space " + tail(1)
	if m == 0 {
		body = "(" + body + ")?"
	}
	return c.rule(`"[" space ` + body + ` "]"`), nil
}

func (c *converter) visitObjectType(s *object, path string, depth int) (string, error) {
	type prop struct {
		name, expr string
		required   bool
	}
	var props []prop
	index := map[string]int{}
	if v, ok := s.get("properties"); ok {
		po, ok := v.(*object)
		if !ok {
			return "", c.errf(path, "properties", "must be an object")
		}
		for _, k := range po.keys {
			e, err := c.visit(po.vals[k], path+"/properties/"+k, depth+1)
			if err != nil {
				return "", err
			}
			index[k] = len(props)
			props = append(props, prop{name: k, expr: e})
		}
	}
	// additionalProperties is left closed unless asked for: a property a
	// client did not describe is not what it wants from a model.
	var extra string
	ap, _ := s.get("additionalProperties")
	_, hasProps := s.get("properties")
	switch x := ap.(type) {
	case bool:
		if x {
			extra = c.use("value")
		}
	case *object:
		e, err := c.visit(x, path+"/additionalProperties", depth+1)
		if err != nil {
			return "", err
		}
		extra = e
	case nil:
		if !hasProps {
			extra = c.use("value")
		}
	default:
		return "", c.errf(path, "additionalProperties", "must be a boolean or a schema")
	}
	if v, ok := s.get("required"); ok {
		list, ok := v.([]any)
		if !ok {
			return "", c.errf(path, "required", "must be an array of strings")
		}
		for _, r := range list {
			name, ok := r.(string)
			if !ok {
				return "", c.errf(path, "required", "must be an array of strings")
			}
			i, known := index[name]
			if !known {
				if extra == "" {
					return "", c.errf(path, "required", "names %q, which is neither a property nor allowed as an additional one", name)
				}
				index[name] = len(props)
				props = append(props, prop{name: name, expr: extra})
				i = index[name]
			}
			props[i].required = true
		}
	}
	c.use("space")
	kv := func(p prop) string {
		key, _ := json.Marshal(p.name)
		return literal(string(key)) + ` space ":" space ` + p.expr + " space"
	}
	// a[i]: the properties from i on when none was written yet; b[i]: the
	// same after at least one (so each starts with a comma).
	n := len(props)
	a, b := make([]string, n+1), make([]string, n+1)
	if extra != "" {
		names := make([]string, n)
		for i, p := range props {
			names[i] = p.name
		}
		addKV := c.rule(c.otherKey(names) + ` space ":" space ` + extra + " space")
		more := c.rule(`("," space ` + addKV + `)*`)
		b[n] = more
		a[n] = c.rule("(" + addKV + " " + more + ")?")
	} else {
		b[n], a[n] = c.rule(`""`), c.rule(`""`)
	}
	for i := n - 1; i >= 0; i-- {
		one := kv(props[i])
		if props[i].required {
			a[i] = c.rule(one + " " + b[i+1])
			b[i] = c.rule(`"," space ` + one + " " + b[i+1])
		} else {
			a[i] = c.rule(one + " " + b[i+1] + " | " + a[i+1])
			b[i] = c.rule(`"," space ` + one + " " + b[i+1] + " | " + b[i+1])
		}
	}
	return c.rule(`"{" space ` + a[0] + ` "}"`), nil
}

// otherKey is a JSON string other than the given names, without escapes
// (so its text is its value, and no escape can spell a declared name).
func (c *converter) otherKey(names []string) string {
	plain := `[^"\\\x00-\x1F]`
	c.use("char")
	if len(names) == 0 {
		return c.rule(`"\"" ` + plain + `* "\""`)
	}
	rest := c.rule(plain + `* "\""`)
	// Walk a trie of the names: at each node the key may end (if no name
	// ends there), take a character no name continues with, or follow one.
	type node struct {
		next  map[rune]*node
		final bool
	}
	root := &node{next: map[rune]*node{}}
	for _, n := range names {
		cur := root
		for _, r := range n {
			if cur.next[r] == nil {
				cur.next[r] = &node{next: map[rune]*node{}}
			}
			cur = cur.next[r]
		}
		cur.final = true
	}
	var build func(nd *node) string
	build = func(nd *node) string {
		var alts []string
		if !nd.final {
			alts = append(alts, `"\""`)
		}
		keys := make([]rune, 0, len(nd.next))
		for r := range nd.next {
			keys = append(keys, r)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		excl := `"\\\x00-\x1F`
		for _, r := range keys {
			excl += classChar(r)
			alts = append(alts, literal(string(r))+" "+build(nd.next[r]))
		}
		alts = append(alts, "[^"+excl+"] "+rest)
		return c.rule(strings.Join(alts, " | "))
	}
	return `"\"" ` + build(root)
}

// classChar writes r for use inside [...].
func classChar(r rune) string {
	switch {
	case r == ']' || r == '[' || r == '\\' || r == '^' || r == '-' || r == '"':
		return `\` + string(r)
	case r < 0x20 || r == 0x7F:
		return fmt.Sprintf(`\x%02X`, r)
	}
	return string(r)
}

// intRange is a GBNF expression for the decimal integers in [lo, hi]
// (either bound may be open), written as JSON writes them.
func intRange(lo, hi *int64) string {
	var alts []string
	// Negative numbers: "-" then the magnitude in [-hi, -lo] ∩ [1, ∞).
	if lo == nil || *lo < 0 {
		var mlo, mhi *int64
		one := int64(1)
		mlo = &one
		if hi != nil && *hi < 0 {
			v := -*hi
			mlo = &v
		}
		if lo != nil {
			v := -*lo
			mhi = &v
		}
		alts = append(alts, `"-" (`+natRange(*mlo, mhi)+")")
	}
	if hi == nil || *hi >= 0 {
		var from int64
		if lo != nil && *lo > 0 {
			from = *lo
		}
		alts = append(alts, natRange(from, hi))
	}
	return strings.Join(alts, " | ")
}

// natRange covers the naturals in [lo, hi] (hi nil: unbounded), lo >= 0.
func natRange(lo int64, hi *int64) string {
	var alts []string
	ls := strconv.FormatInt(lo, 10)
	if hi == nil {
		// Lengths up to lo's, bounded by lo; then every longer number.
		alts = append(alts, digitRange(ls, strings.Repeat("9", len(ls))))
		if len(ls) < 16 {
			alts = append(alts, fmt.Sprintf(`[1-9] [0-9]{%d,15}`, len(ls)))
		}
		return strings.Join(alts, " | ")
	}
	hs := strconv.FormatInt(*hi, 10)
	for n := len(ls); n <= len(hs); n++ {
		a, b := strings.Repeat("9", n), strings.Repeat("9", n)
		a = "1" + strings.Repeat("0", n-1)
		if n == 1 {
			a = "0"
		}
		if n == len(ls) {
			a = ls
		}
		if n == len(hs) {
			b = hs
		}
		alts = append(alts, digitRange(a, b))
	}
	return strings.Join(alts, " | ")
}

// digitRange covers the digit strings of one length from a to b.
func digitRange(a, b string) string {
	if a == "" {
		return `""`
	}
	if a[0] == b[0] {
		rest := ""
		if len(a) > 1 {
			rest = " " + digitRange(a[1:], b[1:])
		}
		return "(" + literal(a[:1]) + rest + ")"
	}
	n := len(a) - 1
	anyTail := ""
	if n > 0 {
		anyTail = fmt.Sprintf(" [0-9]{%d}", n)
	}
	if strings.Trim(a[1:], "0") == "" && strings.Trim(b[1:], "9") == "" {
		return fmt.Sprintf("([%c-%c]%s)", a[0], b[0], anyTail)
	}
	var alts []string
	if n > 0 {
		alts = append(alts, literal(a[:1])+" "+digitRange(a[1:], strings.Repeat("9", n)))
	} else {
		alts = append(alts, literal(a[:1]))
	}
	if a[0]+1 <= b[0]-1 {
		alts = append(alts, fmt.Sprintf("[%c-%c]%s", a[0]+1, b[0]-1, anyTail))
	}
	if n > 0 {
		alts = append(alts, literal(b[:1])+" "+digitRange(strings.Repeat("0", n), b[1:]))
	} else {
		alts = append(alts, literal(b[:1]))
	}
	return "(" + strings.Join(alts, " | ") + ")"
}

// Builder assembles one grammar from several schemas and rules of its
// own (a tool call: a fixed frame around each function's arguments).
type Builder struct{ c *converter }

// NewBuilder starts an empty grammar.
func NewBuilder() *Builder { return &Builder{c: newConverter(nil)} }

// Schema converts a JSON Schema and returns the name of the rule for its
// values. References resolve within that schema.
func (b *Builder) Schema(schema []byte) (string, error) {
	if len(schema) > maxSchemaBytes {
		return "", &SchemaError{Msg: fmt.Sprintf("is larger than %d bytes", maxSchemaBytes)}
	}
	doc, err := decodeOrdered(schema)
	if err != nil {
		return "", &SchemaError{Msg: "is not valid JSON: " + err.Error()}
	}
	b.c.doc, b.c.refs = doc, map[string]string{}
	expr, err := b.c.visit(doc, "", 0)
	if err != nil {
		return "", err
	}
	return b.c.rule(expr), nil
}

// Rule adds a rule with a GBNF body and returns its name.
func (b *Builder) Rule(body string) string { return b.c.rule(body) }

// Literal is text as a GBNF string literal.
func Literal(text string) string { return literal(text) }

// Compile parses the grammar whose root is rootBody.
func (b *Builder) Compile(rootBody string) (*Grammar, error) {
	b.c.define("root", rootBody)
	return Parse(b.c.source("root"))
}
