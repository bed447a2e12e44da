package chattmpl

import (
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type filterFunc func(r *renderer, v any, args []any, kw *Dict) (any, error)

// filters is the filter table; it is filled in init because some filters
// (map, select) look filters and tests up themselves.
var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"abs":        filterAbs,
		"attr":       filterAttr,
		"batch":      filterBatch,
		"capitalize": strFilter(pyCapitalize),
		"center":     filterCenter,
		"count":      filterLength,
		"d":          filterDefault,
		"default":    filterDefault,
		"dictsort":   filterDictsort,
		"first":      filterFirst,
		"float":      filterFloat,
		"format":     filterFormat,
		"indent":     filterIndent,
		"int":        filterInt,
		"items":      filterItems,
		"join":       filterJoin,
		"last":       filterLast,
		"length":     filterLength,
		"list":       filterList,
		"lower":      strFilter(strings.ToLower),
		"map":        filterMap,
		"max":        minMax(1),
		"min":        minMax(-1),
		"pprint":     func(_ *renderer, v any, _ []any, _ *Dict) (any, error) { return pyRepr(v) },
		"reject":     selectFilter(false, false),
		"rejectattr": selectFilter(false, true),
		"replace":    filterReplace,
		"reverse":    filterReverse,
		"round":      filterRound,
		"select":     selectFilter(true, false),
		"selectattr": selectFilter(true, true),
		"slice":      filterSlice,
		"sort":       filterSort,
		"striptags":  filterStriptags,
		"sum":        filterSum,
		"title":      strFilter(jinjaTitle),
		"tojson":     filterToJSON,
		"trim":       filterTrim,
		"truncate":   filterTruncate,
		"unique":     filterUnique,
		"upper":      strFilter(strings.ToUpper),
		"wordcount":  filterWordcount,
	}
	for name, fn := range filters {
		switch name {
		case "default", "d", "attr", "pprint":
		case "upper", "lower", "capitalize", "trim", "center", "indent", "reverse":
			filters[name] = keepMarkup(fn)
		default:
			filters[name] = plainFilter(fn)
		}
	}
	for name, fn := range markupFilters {
		filters[name] = fn
	}
	filters["e"] = markupFilters["escape"]
}

func (r *renderer) applyFilter(f *filterExpr, v any, sc *scope) (any, error) {
	fn, ok := filters[f.name]
	if !ok {
		return nil, runtimeErr("No filter named '%s' found.", f.name)
	}
	args, kw, err := r.evalArgs(f.args, sc)
	if err != nil {
		return nil, err
	}
	out, err := fn(r, v, args, kw)
	if err != nil {
		return nil, atLine(err, f.line)
	}
	return out, nil
}

func strFilter(fn func(string) string) filterFunc {
	return func(_ *renderer, v any, args []any, kw *Dict) (any, error) {
		if _, err := bindArgs("filter", args, kw); err != nil {
			return nil, err
		}
		s, err := toStr(v)
		if err != nil {
			return nil, err
		}
		return fn(s), nil
	}
}

// jinjaTitle is Jinja's title filter: every word (split at whitespace,
// dashes and opening brackets) gets an upper-case first letter.
var wordBeginningSplit = regexp.MustCompile(`[-\s\(\{\[<]+`)

func jinjaTitle(s string) string {
	var b strings.Builder
	last := 0
	emit := func(part string) {
		if part == "" {
			return
		}
		r, n := utf8.DecodeRuneInString(part)
		b.WriteString(strings.ToUpper(string(r)))
		b.WriteString(strings.ToLower(part[n:]))
	}
	for _, loc := range wordBeginningSplit.FindAllStringIndex(s, -1) {
		emit(s[last:loc[0]])
		emit(s[loc[0]:loc[1]])
		last = loc[1]
	}
	emit(s[last:])
	return b.String()
}

func filterAbs(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	switch x := v.(type) {
	case bool:
		return boolToInt(x), nil
	case int64:
		if x == math.MinInt64 {
			return nil, overflow()
		}
		return abs64(x), nil
	case float64:
		return math.Abs(x), nil
	case *undefinedValue:
		return nil, x.err()
	}
	return nil, typeErr("bad operand type for abs(): '%s'", typeName(v))
}

func filterAttr(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("attr", args, kw, "name")
	if err != nil {
		return nil, err
	}
	name, err := strArg("attr", a[0])
	if err != nil {
		return nil, err
	}
	return getAttr(v, name)
}

func filterBatch(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("batch", args, kw, "linecount", "fill_with")
	if err != nil {
		return nil, err
	}
	n, err := intArg(a[0], 0)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, valueErr("batch size must be positive")
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	var out []any
	for i := 0; i < len(items); i += int(n) {
		end := min(i+int(n), len(items))
		row := append([]any{}, items[i:end]...)
		if a[1] != missing && a[1] != nil {
			for len(row) < int(n) {
				row = append(row, a[1])
			}
		}
		out = append(out, row)
	}
	return &generator{items: out, name: "generator"}, nil
}

func filterCenter(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("center", args, kw, "width")
	if err != nil {
		return nil, err
	}
	w, err := intArg(orDefault(a[0], int64(80)), 80)
	if err != nil {
		return nil, err
	}
	s, err := toStr(v)
	if err != nil {
		return nil, err
	}
	return padTo(s, w, missing, '^')
}

func filterLength(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	n, err := pyLen(v)
	return int64(n), err
}

func filterDefault(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("default", args, kw, "default_value", "boolean")
	if err != nil {
		return nil, err
	}
	_, undef := v.(*undefinedValue)
	if undef || (truthy(orDefault(a[1], false)) && !truthy(v)) {
		return orDefault(a[0], ""), nil
	}
	return v, nil
}

func filterDictsort(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("dictsort", args, kw, "case_sensitive", "by", "reverse")
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, &Error{Kind: "FilterArgumentError", Msg: "dictsort filter requires a mapping"}
	}
	by := orDefault(a[1], "key")
	pos := 0
	switch by {
	case "key":
	case "value":
		pos = 1
	default:
		return nil, &Error{Kind: "FilterArgumentError", Msg: "You can only sort by either \"key\" or \"value\""}
	}
	caseSensitive := truthy(orDefault(a[0], false))
	items := make([]any, d.Len())
	for i, k := range d.keys {
		items[i] = Tuple{k, d.vals[i]}
	}
	err = sortValues(items, func(it any) (any, error) {
		return foldCase(it.(Tuple)[pos], caseSensitive), nil
	}, truthy(orDefault(a[2], false)))
	return items, err
}

// foldCase lower-cases strings for case-insensitive comparisons.
func foldCase(v any, caseSensitive bool) any {
	if s, ok := strOf(v); ok && !caseSensitive {
		return strings.ToLower(s)
	}
	return v
}

func filterFirst(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	if g, ok := v.(*generator); ok {
		if g.pos < len(g.items) {
			g.pos++
			return g.items[g.pos-1], nil
		}
		return undefMsg("No first item, sequence was empty."), nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return undefMsg("No first item, sequence was empty."), nil
	}
	return items[0], nil
}

func filterLast(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	if _, ok := v.(*generator); ok {
		return nil, typeErr("'generator' object is not reversible")
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return undefMsg("No last item, sequence was empty."), nil
	}
	return items[len(items)-1], nil
}

// parsePyFloat is Python's float(str): surrounding whitespace, underscores
// between digits, inf and nan are accepted.
func parsePyFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, pyIsSpace)
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "inf", "infinity":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	if strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func filterFloat(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("float", args, kw, "default")
	if err != nil {
		return nil, err
	}
	def := orDefault(a[0], 0.0)
	switch x := v.(type) {
	case *undefinedValue:
		return nil, x.err()
	case string:
		if f, ok := parsePyFloat(x); ok {
			return f, nil
		}
		return def, nil
	}
	if _, f, _, ok := asNumber(v); ok {
		return f, nil
	}
	return def, nil
}

func filterInt(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("int", args, kw, "default", "base")
	if err != nil {
		return nil, err
	}
	def := orDefault(a[0], int64(0))
	base, err := intArg(a[1], 10)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case *undefinedValue:
		return nil, x.err()
	case string:
		s := strings.TrimFunc(x, pyIsSpace)
		digits := strings.TrimLeft(s, "+-")
		if len(digits) > 2 && digits[0] == '0' {
			prefixBase := map[byte]int64{'x': 16, 'o': 8, 'b': 2}[digits[1]|0x20]
			if prefixBase != 0 && (base == prefixBase || base == 0) {
				base = prefixBase
				s = s[:len(s)-len(digits)] + strings.TrimPrefix(digits[2:], "_")
			}
		}
		if base == 0 {
			base = 10
		}
		if base >= 2 && base <= 36 && !strings.HasPrefix(s, "_") && !strings.Contains(s, "__") {
			if i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), int(base), 64); err == nil {
				return i, nil
			}
		}
		if f, ok := parsePyFloat(x); ok && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 9.2e18 {
			return int64(f), nil
		}
		return def, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) >= 9.2e18 {
			return def, nil
		}
		return int64(x), nil
	}
	if i, _, _, ok := asNumber(v); ok {
		return i, nil
	}
	return def, nil
}

func filterItems(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	switch x := v.(type) {
	case *undefinedValue:
		return &generator{name: "generator"}, nil
	case *Dict:
		out := make([]any, x.Len())
		for i, k := range x.keys {
			out[i] = Tuple{k, x.vals[i]}
		}
		return &generator{items: out, name: "generator"}, nil
	}
	return nil, typeErr("Can only get item pairs from a mapping.")
}

func filterJoin(r *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("join", args, kw, "d", "attribute")
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	sep, err := toStr(orDefault(a[0], ""))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i, it := range items {
		if a[1] != missing && a[1] != nil {
			if it, err = attrGetter(it, a[1]); err != nil {
				return nil, err
			}
		}
		if i > 0 {
			b.WriteString(sep)
		}
		s, err := toStr(it)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		if err := r.checkSize(b.Len()); err != nil {
			return nil, err
		}
	}
	return b.String(), nil
}

func filterList(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	return append([]any{}, items...), nil
}

// attrGetter resolves a (possibly dotted) attribute path the way Jinja's
// make_attrgetter does: item lookup first, integer parts as indexes.
func attrGetter(v any, attr any) (any, error) {
	s, ok := attr.(string)
	if !ok {
		return getItem(v, attr)
	}
	for _, part := range strings.Split(s, ".") {
		var key any = part
		if n, err := strconv.ParseInt(part, 10, 64); err == nil {
			key = n
		}
		var err error
		if v, err = getItem(v, key); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func filterMap(r *renderer, v any, args []any, kw *Dict) (any, error) {
	if !truthy(v) {
		// Jinja's map only iterates a true value
		v = nil
	}
	items, err := iterateOrNone(v)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	if len(args) == 0 && kw != nil {
		if attr, ok := kw.Get("attribute"); ok {
			def, hasDef := kw.Get("default")
			for _, it := range items {
				x, err := attrGetter(it, attr)
				if err != nil {
					return nil, err
				}
				if _, undef := x.(*undefinedValue); undef && hasDef {
					x = def
				}
				out = append(out, x)
			}
			return &generator{items: out, name: "generator"}, nil
		}
	}
	if len(args) == 0 {
		return nil, &Error{Kind: "FilterArgumentError", Msg: "map requires a filter argument"}
	}
	name, ok := args[0].(string)
	if !ok {
		return nil, typeErr("map filter name must be a string")
	}
	fn, ok := filters[name]
	if !ok {
		return nil, runtimeErr("No filter named '%s'.", name)
	}
	for _, it := range items {
		if err := r.step(); err != nil {
			return nil, err
		}
		x, err := fn(r, it, args[1:], kw)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return &generator{items: out, name: "generator"}, nil
}

func minMax(sign int) filterFunc {
	return func(_ *renderer, v any, args []any, kw *Dict) (any, error) {
		a, err := bindArgs("min/max", args, kw, "case_sensitive", "attribute")
		if err != nil {
			return nil, err
		}
		items, err := iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return undefMsg("No aggregated item, sequence was empty."), nil
		}
		key := func(it any) (any, error) {
			if a[1] != missing && a[1] != nil {
				var err error
				if it, err = attrGetter(it, a[1]); err != nil {
					return nil, err
				}
			}
			return foldCase(it, truthy(orDefault(a[0], false))), nil
		}
		best := items[0]
		bestKey, err := key(best)
		if err != nil {
			return nil, err
		}
		for _, it := range items[1:] {
			k, err := key(it)
			if err != nil {
				return nil, err
			}
			c, err := pyCompare(k, bestKey, "<")
			if err != nil {
				return nil, err
			}
			if c*sign > 0 {
				best, bestKey = it, k
			}
		}
		return best, nil
	}
}

// selectFilter builds select/reject (attr=false) and selectattr/rejectattr.
func selectFilter(keep, byAttr bool) filterFunc {
	return func(r *renderer, v any, args []any, kw *Dict) (any, error) {
		if !truthy(v) {
			// Jinja's select and reject only iterate a true value
			v = nil
		}
		items, err := iterateOrNone(v)
		if err != nil {
			return nil, err
		}
		var attr any
		if byAttr {
			if len(args) == 0 {
				return nil, typeErr("missing attribute argument")
			}
			attr, args = args[0], args[1:]
		}
		var test testFunc
		var testArgs []any
		if len(args) > 0 {
			name, ok := args[0].(string)
			if !ok {
				return nil, typeErr("test name must be a string")
			}
			if test, ok = tests[name]; !ok {
				return nil, runtimeErr("No test named '%s'.", name)
			}
			testArgs = args[1:]
		}
		out := []any{}
		for _, it := range items {
			if err := r.step(); err != nil {
				return nil, err
			}
			x := it
			if byAttr {
				if x, err = attrGetter(it, attr); err != nil {
					return nil, err
				}
			}
			var ok bool
			if test == nil {
				ok = truthy(x)
			} else if ok, err = test(r, x, testArgs, kw); err != nil {
				return nil, err
			}
			if ok == keep {
				out = append(out, it)
			}
		}
		return &generator{items: out, name: "generator"}, nil
	}
}

// iterateOrNone iterates v, treating None as empty.
func iterateOrNone(v any) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	return iterate(v)
}

func filterReplace(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("replace", args, kw, "old", "new", "count")
	if err != nil {
		return nil, err
	}
	if a[0] == missing || a[1] == missing {
		return nil, typeErr("replace() missing required argument")
	}
	n, err := intArg(a[2], -1)
	if err != nil {
		return nil, err
	}
	strs, err := toStrs(v, a[0], a[1])
	if err != nil {
		return nil, err
	}
	return pyReplace(strs[0], strs[1], strs[2], n)
}

func filterReverse(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	if s, ok := v.(string); ok {
		return sliceValue(s, nil, nil, int64(-1))
	}
	if _, ok := v.(*generator); ok {
		items, _ := iterate(v)
		out := make([]any, len(items))
		for i, it := range items {
			out[len(items)-1-i] = it
		}
		return out, nil
	}
	items, err := iterate(v)
	if err != nil {
		return nil, typeErr("argument must be iterable")
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	return &generator{items: out, name: "reversed"}, nil
}

func filterRound(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("round", args, kw, "precision", "method")
	if err != nil {
		return nil, err
	}
	prec, err := intArg(a[0], 0)
	if err != nil {
		return nil, err
	}
	_, f, _, ok := asNumber(v)
	if !ok {
		if u, isU := v.(*undefinedValue); isU {
			return nil, u.err()
		}
		return nil, typeErr("type %s doesn't define __round__ method", typeName(v))
	}
	if prec > 300 {
		prec = 300
	}
	p := math.Pow(10, float64(prec))
	switch orDefault(a[1], "common") {
	case "common":
		if i, _, isFloat, _ := asNumber(v); !isFloat && prec >= 0 {
			return i, nil // round() of an int is the int
		}
		// Python rounds the exact decimal value half to even
		s := strconv.FormatFloat(f, 'f', int(max(prec, 0)), 64)
		if prec < 0 {
			return math.RoundToEven(f*p) / p, nil
		}
		r, _ := strconv.ParseFloat(s, 64)
		return r, nil
	case "ceil":
		return math.Ceil(f*p) / p, nil
	case "floor":
		return math.Floor(f*p) / p, nil
	}
	return nil, &Error{Kind: "FilterArgumentError", Msg: "method must be common, ceil or floor"}
}

func filterSlice(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("slice", args, kw, "slices", "fill_with")
	if err != nil {
		return nil, err
	}
	n, err := intArg(a[0], 0)
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > maxRepeat {
		return nil, valueErr("slice count must be positive")
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	per, extra := len(items)/int(n), len(items)%int(n)
	var out []any
	offset := 0
	for i := 0; i < int(n); i++ {
		start := offset + i*per
		if i < extra {
			offset++
		}
		end := offset + (i+1)*per
		row := append([]any{}, items[start:end]...)
		if a[1] != missing && a[1] != nil && i >= extra {
			row = append(row, a[1])
		}
		out = append(out, row)
	}
	return &generator{items: out, name: "generator"}, nil
}

func filterSort(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("sort", args, kw, "reverse", "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	items = append([]any{}, items...)
	cs := truthy(orDefault(a[1], false))
	err = sortValues(items, func(it any) (any, error) {
		if a[2] != missing && a[2] != nil {
			var err error
			if it, err = attrGetter(it, a[2]); err != nil {
				return nil, err
			}
		}
		return foldCase(it, cs), nil
	}, truthy(orDefault(a[0], false)))
	return items, err
}

// Markup.striptags removes all comments first, so that a tag inside a
// comment cannot end it early, then tags, and finally unescapes entities
// (the text is taken as HTML, markup or not).
var (
	commentRe = regexp.MustCompile(`(?s)<!--.*?-->`)
	tagRe     = regexp.MustCompile(`(?s)<.*?>`)
)

func filterStriptags(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	s, err := toStr(v)
	if err != nil {
		return nil, err
	}
	s = tagRe.ReplaceAllString(commentRe.ReplaceAllString(s, ""), "")
	return html.UnescapeString(strings.Join(strings.FieldsFunc(s, pyIsSpace), " ")), nil
}

func filterSum(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("sum", args, kw, "attribute", "start")
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	total := orDefault(a[1], int64(0))
	for _, it := range items {
		if a[0] != missing && a[0] != nil {
			if it, err = attrGetter(it, a[0]); err != nil {
				return nil, err
			}
		}
		if total, err = binaryOp("+", total, it); err != nil {
			return nil, err
		}
	}
	return total, nil
}

func filterToJSON(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("tojson", args, kw, "ensure_ascii", "indent", "separators", "sort_keys")
	if err != nil {
		return nil, err
	}
	opts := jsonOptions{ensureASCII: truthy(orDefault(a[0], false)), sortKeys: truthy(orDefault(a[3], false))}
	if ind := orDefault(a[1], nil); ind != nil {
		switch x := ind.(type) {
		case string:
			opts.indent = &x
		default:
			n, err := intArg(x, 0)
			if err != nil {
				return nil, err
			}
			s := strings.Repeat(" ", int(max(0, min(n, 1000))))
			opts.indent = &s
		}
	}
	opts.itemSep, opts.keySep = ", ", ": "
	if opts.indent != nil {
		opts.itemSep = ","
	}
	if seps := orDefault(a[2], nil); seps != nil {
		parts, err := iterate(seps)
		if err != nil || len(parts) != 2 {
			return nil, valueErr("separators must be a pair of strings")
		}
		is, ok1 := strOf(parts[0])
		ks, ok2 := strOf(parts[1])
		if !ok1 || !ok2 {
			return nil, typeErr("separators must be strings")
		}
		opts.itemSep, opts.keySep = is, ks
	}
	return toJSON(v, opts)
}

func filterTrim(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("trim", args, kw, "chars")
	if err != nil {
		return nil, err
	}
	s, err := toStr(v)
	if err != nil {
		return nil, err
	}
	return stripChars(s, orDefault(a[0], nil), true, true)
}

func filterTruncate(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	return truncate(v, args, kw, false)
}

// truncate is the truncate filter; with escapeEnd the end is escaped once
// the cut is made, as Markup's + does after Jinja measured the plain end.
func truncate(v any, args []any, kw *Dict, escapeEnd bool) (any, error) {
	a, err := bindArgs("truncate", args, kw, "length", "killwords", "end", "leeway")
	if err != nil {
		return nil, err
	}
	s, isStr := v.(string)
	if !isStr {
		n, err := pyLen(v)
		if err != nil {
			return nil, err
		}
		length, err := intArg(a[0], 255)
		if err != nil {
			return nil, err
		}
		leeway, err := intArg(a[3], 5)
		if err != nil {
			return nil, err
		}
		if int64(n) <= length+leeway {
			return v, nil
		}
		return nil, typeErr("truncate of a %s is not supported", typeName(v))
	}
	length, err := intArg(a[0], 255)
	if err != nil {
		return nil, err
	}
	end, err := toStr(orDefault(a[2], "..."))
	if err != nil {
		return nil, err
	}
	leeway, err := intArg(a[3], 5)
	if err != nil {
		return nil, err
	}
	runes := []rune(s)
	if int64(len(runes)) <= length+leeway {
		return s, nil
	}
	cut := int(length) - utf8Len(end)
	if cut < 0 {
		cut = 0
	}
	if cut > len(runes) {
		cut = len(runes)
	}
	if escapeEnd {
		end = htmlEscaper.Replace(end)
	}
	if truthy(orDefault(a[1], false)) {
		return string(runes[:cut]) + end, nil
	}
	head := string(runes[:cut])
	if i := strings.LastIndex(head, " "); i >= 0 {
		head = head[:i]
	}
	return head + end, nil
}

func filterUnique(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("unique", args, kw, "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	items, err := iterate(v)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []any
	for _, it := range items {
		k := it
		if a[1] != missing && a[1] != nil {
			if k, err = attrGetter(it, a[1]); err != nil {
				return nil, err
			}
		}
		h, ok := hashKey(foldCase(k, truthy(orDefault(a[0], false))))
		if !ok {
			return nil, typeErr("unhashable type: '%s'", typeName(k))
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, it)
		}
	}
	return &generator{items: out, name: "generator"}, nil
}

func filterWordcount(_ *renderer, v any, _ []any, _ *Dict) (any, error) {
	s, err := toStr(v)
	if err != nil {
		return nil, err
	}
	n := 0
	inWord := false
	for _, r := range s {
		w := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		if w && !inWord {
			n++
		}
		inWord = w
	}
	return int64(n), nil
}

func filterFormat(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	s, err := toStr(v)
	if err != nil {
		return nil, err
	}
	return filterFormatWith(s, args, kw, false)
}

// filterFormatWith is format % (kwargs or args), escaping the arguments
// when the format is markup.
func filterFormatWith(s string, args []any, kw *Dict, escape bool) (any, error) {
	if len(args) > 0 && kw != nil && kw.Len() > 0 {
		return nil, &Error{Kind: "FilterArgumentError", Msg: "can't handle positional and keyword arguments at the same time"}
	}
	if kw != nil && kw.Len() > 0 {
		return percentFormat(s, kw, escape)
	}
	return percentFormat(s, Tuple(args), escape)
}

func filterIndent(_ *renderer, v any, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("indent", args, kw, "width", "first", "blank")
	if err != nil {
		return nil, err
	}
	var ind string
	switch w := orDefault(a[0], int64(4)).(type) {
	case string:
		ind = w
	default:
		n, err := intArg(w, 4)
		if err != nil {
			return nil, err
		}
		if n > 1000 {
			return nil, &Error{Kind: "LimitError", Msg: "indent width too large"}
		}
		ind = strings.Repeat(" ", int(max(n, 0)))
	}
	str, ok := v.(string)
	if !ok {
		if u, isU := v.(*undefinedValue); isU {
			return nil, u.err()
		}
		return nil, typeErr("unsupported operand type(s) for +=: '%s' and 'str'", typeName(v))
	}
	lines := pySplitLines(str+"\n", false)
	var out string
	if truthy(orDefault(a[2], false)) {
		out = strings.Join(lines, "\n"+ind)
	} else {
		var b strings.Builder
		b.WriteString(lines[0])
		for _, l := range lines[1:] {
			b.WriteString("\n")
			if l != "" {
				b.WriteString(ind)
			}
			b.WriteString(l)
		}
		out = b.String()
	}
	if truthy(orDefault(a[1], false)) {
		out = ind + out
	}
	return out, nil
}
