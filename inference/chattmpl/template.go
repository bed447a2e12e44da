package chattmpl

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Template is a parsed template; it is safe for concurrent rendering.
type Template struct {
	body  []stmt
	undef []string // names that start undefined at the top level
}

// Parse compiles a template source.
func Parse(src string) (*Template, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	body, err := parseTemplate(toks)
	if err != nil {
		return nil, err
	}
	foldBody(body)
	undef := analyzeFrame(body, nil, nil, map[string]bool{})
	return &Template{body: body, undef: undef}, nil
}

// Limits bound one rendering; zero fields take the defaults.
type Limits struct {
	MaxSteps  int // statements and expression evaluations (default 10 million)
	MaxOutput int // bytes of output and of any intermediate string (default 16 MiB)
	MaxDepth  int // nesting of blocks, expressions and macro calls (default 400)
}

// Options configure Execute.
type Options struct {
	// Now is the clock behind strftime_now; nil means time.Now.
	Now    func() time.Time
	Limits Limits
}

// Render renders the template with vars as its variables.
func (t *Template) Render(vars map[string]any) (string, error) {
	return t.Execute(vars, Options{})
}

// Execute renders the template with vars and options.
func (t *Template) Execute(vars map[string]any, opts Options) (string, error) {
	lim := opts.Limits
	if lim.MaxSteps <= 0 {
		lim.MaxSteps = 10_000_000
	}
	if lim.MaxOutput <= 0 {
		lim.MaxOutput = 16 << 20
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 400
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var out strings.Builder
	r := &renderer{out: &out, maxSteps: lim.MaxSteps, maxOut: lim.MaxOutput, maxDepth: lim.MaxDepth, now: now}
	root := newScope(nil)
	for k, v := range vars {
		root.vars[k] = FromGo(v)
	}
	top := newScope(root)
	enterFrame(top, t.undef)
	if _, err := r.exec(t.body, top); err != nil {
		return "", err
	}
	return out.String(), nil
}

// FromGo converts Go values into template values: integers to int64,
// floats to float64, slices to lists, maps to dicts (keys sorted, since Go
// maps have no order), structs are not supported (they become their string
// form). Values that already are template values pass through.
func FromGo(v any) any {
	return fromGo(v, 0)
}

func fromGo(v any, depth int) any {
	if depth > maxJSONDepth {
		return nil
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *Dict, Tuple, *namespace, *callable:
		return v
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromGo(e, depth+1)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict()
		for _, k := range keys {
			d.Set(k, fromGo(x[k], depth+1))
		}
		return d
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = fromGo(rv.Index(i).Interface(), depth+1)
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			keys := rv.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			d := NewDict()
			for _, k := range keys {
				d.Set(k.String(), fromGo(rv.MapIndex(k).Interface(), depth+1))
			}
			return d
		}
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return fromGo(rv.Elem().Interface(), depth+1)
	}
	return fmt.Sprint(v)
}

// RenderString parses and renders src in one call.
func RenderString(src string, vars map[string]any, opts Options) (string, error) {
	t, err := Parse(src)
	if err != nil {
		return "", err
	}
	return t.Execute(vars, opts)
}
