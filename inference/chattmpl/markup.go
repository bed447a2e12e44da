package chattmpl

import (
	"slices"
	"strings"
)

// markup is Jinja2's Markup (markupsafe): a str that is already HTML-safe.
// Autoescaping is off in the transformers environment, so printing never
// escapes; but markup is contagious. Combining it with plain text escapes
// the plain side (safe + x, Markup % x, Markup.join, Markup.format), and
// some templates rely on that: Functionary v3.1 writes
// "…"|safe + tool|tojson, which turns the JSON quotes into &#34;. Where
// Jinja2 falls back to str (~, the join and replace filters, str % Markup)
// the result is plain again, and everywhere else markup acts as a str.
type markup string

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// strOf is a str value's text, markup or not.
func strOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case markup:
		return string(x), true
	}
	return "", false
}

// plain is v with markup turned into a plain str, for the operations that
// do not keep it.
func plain(v any) any {
	if m, ok := v.(markup); ok {
		return string(m)
	}
	return v
}

// plainArgs applies plain to arguments, copying only when one changes.
func plainArgs(args []any, kw *Dict) ([]any, *Dict) {
	var out []any
	for i, a := range args {
		if _, ok := a.(markup); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = plain(a)
		}
	}
	if out == nil {
		out = args
	}
	if kw != nil && slices.ContainsFunc(kw.vals, isMarkup) {
		n := NewDict()
		for i, k := range kw.keys {
			n.SetKey(k, plain(kw.vals[i]))
		}
		kw = n
	}
	return out, kw
}

func isMarkup(v any) bool { _, ok := v.(markup); return ok }

// escapeValue is markupsafe.escape: markup as it is, anything else as its
// str with & < > " ' escaped.
func escapeValue(v any) (markup, error) {
	if m, ok := v.(markup); ok {
		return m, nil
	}
	s, err := toStr(v)
	if err != nil {
		return "", err
	}
	return markup(htmlEscaper.Replace(s)), nil
}

// markupAdd is + with markup on either side: the other side must be a str
// and is escaped.
func markupAdd(a, b any) (any, bool, error) {
	if !isMarkup(a) && !isMarkup(b) {
		return nil, false, nil
	}
	if _, ok := strOf(a); !ok {
		return nil, true, typeErr("unsupported operand type(s) for +: '%s' and '%s'", typeName(a), typeName(b))
	}
	if _, ok := strOf(b); !ok {
		return nil, true, typeErr("unsupported operand type(s) for +: '%s' and '%s'", typeName(a), typeName(b))
	}
	x, err := escapeValue(a)
	if err != nil {
		return nil, true, err
	}
	y, err := escapeValue(b)
	if err != nil {
		return nil, true, err
	}
	return x + y, true, nil
}

// keepMarkup wraps a filter whose result is markup when its input is
// (Markup's own upper, strip, center, ... return Markup).
func keepMarkup(fn filterFunc) filterFunc {
	return func(r *renderer, v any, args []any, kw *Dict) (any, error) {
		wasMarkup := isMarkup(v)
		args, kw = plainArgs(args, kw)
		out, err := fn(r, plain(v), args, kw)
		if s, ok := out.(string); ok && wasMarkup && err == nil {
			return markup(s), nil
		}
		return out, err
	}
}

// plainFilter wraps a filter that treats markup as a plain str.
func plainFilter(fn filterFunc) filterFunc {
	return func(r *renderer, v any, args []any, kw *Dict) (any, error) {
		args, kw = plainArgs(args, kw)
		return fn(r, plain(v), args, kw)
	}
}

// markupFilters are the filters that see markup as markup.
var markupFilters = map[string]filterFunc{
	"safe": func(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
		if m, ok := v.(markup); ok {
			return m, nil
		}
		s, err := toStr(v)
		return markup(s), err
	},
	"escape": func(_ *renderer, v any, _ []any, _ *Dict) (any, error) { return escapeValue(v) },
	"forceescape": func(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
		return escapeValue(plain(v))
	},
	"string": func(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
		if m, ok := v.(markup); ok {
			return m, nil
		}
		return toStr(v)
	},
	// format is Markup % args when the format is markup.
	"format": func(r *renderer, v any, args []any, kw *Dict) (any, error) {
		if m, ok := v.(markup); ok {
			return filterFormatWith(string(m), args, kw, true)
		}
		args, kw = plainArgs(args, kw)
		return filterFormat(r, v, args, kw)
	},
	// truncate appends its end to a Markup slice, which escapes it.
	"truncate": func(r *renderer, v any, args []any, kw *Dict) (any, error) {
		args, kw = plainArgs(args, kw)
		m, ok := v.(markup)
		if !ok {
			return filterTruncate(r, v, args, kw)
		}
		out, err := truncate(string(m), args, kw, true)
		if s, ok := out.(string); ok {
			return markup(s), err
		}
		return out, err
	},
}

// markupMethod is a str method called on markup: string arguments that end
// up in the result are escaped first, and results that are text (or lists
// and tuples of text) come back as markup.
func markupMethod(m markup, name string) (any, bool) {
	fn, ok := strMethod(string(m), name)
	if !ok {
		return nil, false
	}
	inner := fn.(*callable)
	escapeAt := func(args []any, kw *Dict, pos int, key string) ([]any, *Dict, error) {
		args = append([]any(nil), args...)
		if pos < len(args) {
			e, err := escapeValue(args[pos])
			if err != nil {
				return nil, nil, err
			}
			args[pos] = e
		}
		if v, ok := kwGet(kw, key); ok {
			e, err := escapeValue(v)
			if err != nil {
				return nil, nil, err
			}
			kw = kw.copyDict()
			kw.Set(key, e)
		}
		return args, kw, nil
	}
	return &callable{name: name, fn: func(r *renderer, args []any, kw *Dict) (any, error) {
		var err error
		switch name {
		case "replace":
			args, kw, err = escapeAt(args, kw, 1, "new")
		case "center", "ljust", "rjust":
			args, kw, err = escapeAt(args, kw, 1, "fillchar")
		case "format":
			args, kw, err = escapeAll(args, kw)
		case "join":
			if len(args) == 1 {
				var items []any
				if items, err = iterate(args[0]); err == nil {
					items, _, err = escapeAll(items, nil)
					args = []any{items}
				}
			}
		}
		if err != nil {
			return nil, err
		}
		args, kw = plainArgs(args, kw)
		out, err := inner.fn(r, args, kw)
		if err != nil {
			return nil, err
		}
		switch x := out.(type) {
		case string:
			return markup(x), nil
		case []any:
			toMarkup(x)
		case Tuple:
			toMarkup(x)
		}
		return out, nil
	}}, true
}

func toMarkup(items []any) {
	for i, e := range items {
		if s, ok := e.(string); ok {
			items[i] = markup(s)
		}
	}
}

// escapeAll escapes every argument, as markupsafe's escape formatter does.
func escapeAll(args []any, kw *Dict) ([]any, *Dict, error) {
	out := make([]any, len(args))
	for i, a := range args {
		e, err := escapeValue(a)
		if err != nil {
			return nil, nil, err
		}
		out[i] = string(e)
	}
	if kw == nil {
		return out, nil, nil
	}
	n := NewDict()
	for i, k := range kw.keys {
		e, err := escapeValue(kw.vals[i])
		if err != nil {
			return nil, nil, err
		}
		n.SetKey(k, string(e))
	}
	return out, n, nil
}

func kwGet(kw *Dict, key string) (any, bool) {
	if kw == nil {
		return nil, false
	}
	return kw.Get(key)
}
