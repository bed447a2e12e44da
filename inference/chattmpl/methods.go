package chattmpl

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// missing marks an argument that was not passed.
type missingArg struct{}

var missing any = missingArg{}

// bindArgs maps positional and keyword arguments onto named parameters the
// way Python does; absent parameters are the missing sentinel.
func bindArgs(fn string, args []any, kw *Dict, names ...string) ([]any, error) {
	if len(args) > len(names) {
		return nil, typeErr("%s() takes at most %d arguments (%d given)", fn, len(names), len(args))
	}
	out := make([]any, len(names))
	for i := range out {
		out[i] = missing
	}
	copy(out, args)
	if kw != nil {
		for i, k := range kw.keys {
			name, _ := k.(string)
			j := indexOf(names, name)
			if j < 0 {
				return nil, typeErr("%s() got an unexpected keyword argument '%s'", fn, name)
			}
			if j < len(args) {
				return nil, typeErr("%s() got multiple values for argument '%s'", fn, name)
			}
			out[j] = kw.vals[i]
		}
	}
	return out, nil
}

func orDefault(v, def any) any {
	if v == missing {
		return def
	}
	return v
}

// unsafeMethods are the mutating methods the immutable sandbox refuses.
var unsafeMethods = map[string]map[string]bool{
	"list": {"append": true, "clear": true, "extend": true, "insert": true, "pop": true, "remove": true, "reverse": true, "sort": true},
	"dict": {"clear": true, "pop": true, "popitem": true, "setdefault": true, "update": true},
}

func unsafeAttr(obj any, name string) *undefinedValue {
	return &undefinedValue{kind: "SecurityError",
		hint: "access to attribute '" + name + "' of '" + typeName(obj) + "' object is unsafe."}
}

// bound makes a method; markup arguments act as plain str in every method
// (markup receivers are handled by markupMethod).
func bound(name string, fn func(args []any, kw *Dict) (any, error)) *callable {
	return &callable{name: name, fn: func(_ *renderer, args []any, kw *Dict) (any, error) {
		args, kw = plainArgs(args, kw)
		return fn(args, kw)
	}}
}

// method returns the Python method name of obj, if it has one.
func method(obj any, name string) (any, bool) {
	if unsafeMethods[typeName(obj)][name] {
		return unsafeAttr(obj, name), true
	}
	switch x := obj.(type) {
	case string:
		return strMethod(x, name)
	case markup:
		return markupMethod(x, name)
	case *Dict:
		return dictMethod(x, name)
	case []any:
		return seqMethod(x, "list", name)
	case Tuple:
		return seqMethod(x, "tuple", name)
	case rangeValue:
		if name == "index" || name == "count" {
			return seqMethod(x.items(), "range", name)
		}
	}
	return nil, false
}

func dictMethod(d *Dict, name string) (any, bool) {
	switch name {
	case "items":
		return bound("items", func(args []any, kw *Dict) (any, error) {
			_, err := bindArgs("items", args, kw)
			return newDictView(d, "dict_items"), err
		}), true
	case "keys":
		return bound("keys", func(args []any, kw *Dict) (any, error) {
			_, err := bindArgs("keys", args, kw)
			return newDictView(d, "dict_keys"), err
		}), true
	case "values":
		return bound("values", func(args []any, kw *Dict) (any, error) {
			_, err := bindArgs("values", args, kw)
			return newDictView(d, "dict_values"), err
		}), true
	case "get":
		return bound("get", func(args []any, kw *Dict) (any, error) {
			if kw != nil && kw.Len() > 0 {
				return nil, typeErr("get() takes no keyword arguments")
			}
			a, err := bindArgs("get", args, nil, "key", "default")
			if err != nil {
				return nil, err
			}
			if a[0] == missing {
				return nil, typeErr("get expected at least 1 argument, got 0")
			}
			if _, ok := hashKey(a[0]); !ok {
				return nil, typeErr("unhashable type: '%s'", typeName(a[0]))
			}
			if v, ok := d.GetKey(a[0]); ok {
				return v, nil
			}
			return orDefault(a[1], nil), nil
		}), true
	case "copy":
		return bound("copy", func(args []any, kw *Dict) (any, error) {
			_, err := bindArgs("copy", args, kw)
			return d.copyDict(), err
		}), true
	}
	return nil, false
}

func seqMethod(seq []any, typ, name string) (any, bool) {
	switch name {
	case "index":
		return bound("index", func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs("index", args, kw, "value")
			if err != nil {
				return nil, err
			}
			for i, v := range seq {
				if pyEqual(v, a[0]) {
					return int64(i), nil
				}
			}
			return nil, valueErr("%s.index(x): x not in %s", typ, typ)
		}), true
	case "count":
		return bound("count", func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs("count", args, kw, "value")
			if err != nil {
				return nil, err
			}
			n := int64(0)
			for _, v := range seq {
				if pyEqual(v, a[0]) {
					n++
				}
			}
			return n, nil
		}), true
	case "copy":
		if typ == "list" {
			return bound("copy", func(args []any, kw *Dict) (any, error) {
				_, err := bindArgs("copy", args, kw)
				return append([]any{}, seq...), err
			}), true
		}
	}
	return nil, false
}

// strArg returns a required string argument.
func strArg(fn string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		if v == missing {
			return "", typeErr("%s() missing required argument", fn)
		}
		return "", typeErr("%s() argument must be str, not %s", fn, typeName(v))
	}
	return s, nil
}

// stripChars is Python's strip family: chars == nil strips whitespace.
func stripChars(s string, chars any, left, right bool) (string, error) {
	cut := pyIsSpace
	if chars != nil && chars != missing {
		set, ok := chars.(string)
		if !ok {
			return "", typeErr("strip arg must be None or str")
		}
		cut = func(r rune) bool { return strings.ContainsRune(set, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, cut)
	}
	if right {
		s = strings.TrimRightFunc(s, cut)
	}
	return s, nil
}

// pySplit is Python's str.split / rsplit.
func pySplit(s string, sep any, maxsplit int64, fromRight bool) ([]any, error) {
	var parts []string
	if sep == nil || sep == missing {
		fields := strings.FieldsFunc(s, pyIsSpace)
		if maxsplit >= 0 && int64(len(fields)) > maxsplit+1 {
			// re-split keeping the remainder intact
			parts = splitWhitespaceN(s, int(maxsplit), fromRight)
		} else {
			parts = fields
		}
	} else {
		sp, ok := sep.(string)
		if !ok {
			return nil, typeErr("must be str or None, not %s", typeName(sep))
		}
		if sp == "" {
			return nil, valueErr("empty separator")
		}
		n := -1
		if maxsplit >= 0 && maxsplit < 1<<30 {
			n = int(maxsplit) + 1
		}
		if fromRight && n > 0 {
			parts = rsplitN(s, sp, n)
		} else {
			parts = strings.SplitN(s, sp, n)
		}
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func rsplitN(s, sep string, n int) []string {
	var rev []string
	for len(rev) < n-1 {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
	}
	out := []string{s}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

func splitWhitespaceN(s string, n int, fromRight bool) []string {
	runes := []rune(s)
	var out []string
	if !fromRight {
		i := 0
		for len(out) < n {
			for i < len(runes) && pyIsSpace(runes[i]) {
				i++
			}
			j := i
			for j < len(runes) && !pyIsSpace(runes[j]) {
				j++
			}
			out = append(out, string(runes[i:j]))
			i = j
		}
		for i < len(runes) && pyIsSpace(runes[i]) {
			i++
		}
		if i < len(runes) {
			out = append(out, string(runes[i:]))
		}
		return out
	}
	j := len(runes)
	var rev []string
	for len(rev) < n {
		for j > 0 && pyIsSpace(runes[j-1]) {
			j--
		}
		i := j
		for i > 0 && !pyIsSpace(runes[i-1]) {
			i--
		}
		rev = append(rev, string(runes[i:j]))
		j = i
	}
	for j > 0 && pyIsSpace(runes[j-1]) {
		j--
	}
	if j > 0 {
		out = append(out, string(runes[:j]))
	}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out
}

// pySplitLines is Python's str.splitlines.
func pySplitLines(s string, keepends bool) []string {
	var out []string
	runes := []rune(s)
	start := 0
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		default:
			continue
		}
		end := i + 1
		if r == '\r' && i+1 < len(runes) && runes[i+1] == '\n' {
			end = i + 2
		}
		if keepends {
			out = append(out, string(runes[start:end]))
		} else {
			out = append(out, string(runes[start:i]))
		}
		start = end
		i = end - 1
	}
	if start < len(runes) {
		out = append(out, string(runes[start:]))
	}
	return out
}

// pyTitle is Python's str.title: the first cased letter after an uncased
// character is upper-cased, the rest lower-cased.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if prevCased {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		prevCased = unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
	}
	return b.String()
}

// pyCapitalize is Python's str.capitalize.
func pyCapitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToTitle(r)) + strings.ToLower(s[n:])
}

func prefixMatch(s string, arg any, fn string, match func(string, string) bool) (any, error) {
	switch p := arg.(type) {
	case string:
		return match(s, p), nil
	case Tuple:
		for _, e := range p {
			ps, ok := strOf(e)
			if !ok {
				return nil, typeErr("tuple for %s must only contain str, not %s", fn, typeName(e))
			}
			if match(s, ps) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, typeErr("%s first arg must be str or a tuple of str, not %s", fn, typeName(arg))
}

func intArg(v any, def int64) (int64, error) {
	if v == missing || v == nil {
		return def, nil
	}
	i, _, isFloat, ok := asNumber(v)
	if !ok || isFloat {
		return 0, typeErr("'%s' object cannot be interpreted as an integer", typeName(v))
	}
	return i, nil
}

// substrRange converts Python start/end arguments into rune offsets.
func substrRange(runes []rune, start, end any) (int, int, error) {
	b, e, _, err := sliceIndices(orDefault(start, nil), orDefault(end, nil), nil, len(runes))
	return b, e, err
}

func runeIndex(hay []rune, needle []rune, from, to int, last bool) int {
	if to-from < len(needle) {
		return -1
	}
	if last {
		for i := to - len(needle); i >= from; i-- {
			if runesEqual(hay[i:i+len(needle)], needle) {
				return i
			}
		}
		return -1
	}
	for i := from; i+len(needle) <= to; i++ {
		if runesEqual(hay[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

func runesEqual(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func allRunes(s string, pred func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !pred(r) {
			return false
		}
	}
	return true
}

func hasCased(s string, upper bool) bool {
	cased := false
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsTitle(r) {
			if !upper {
				return false
			}
			cased = true
		} else if unicode.IsLower(r) {
			if upper {
				return false
			}
			cased = true
		}
	}
	return cased
}

func padTo(s string, width int64, fill any, align byte) (string, error) {
	f := " "
	if fill != missing {
		fs, ok := fill.(string)
		if !ok || utf8Len(fs) != 1 {
			return "", typeErr("The fill character must be exactly one character long")
		}
		f = fs
	}
	n := int(width) - utf8Len(s)
	if width > maxRepeat {
		return "", &Error{Kind: "LimitError", Msg: "width too large"}
	}
	if n <= 0 {
		return s, nil
	}
	switch align {
	case '<':
		return s + strings.Repeat(f, n), nil
	case '>':
		return strings.Repeat(f, n) + s, nil
	}
	left := n / 2
	if n%2 == 1 && int(width)%2 == 1 {
		left++
	}
	return strings.Repeat(f, left) + s + strings.Repeat(f, n-left), nil
}

func strMethod(s string, name string) (any, bool) {
	simple := func(f func() any) (any, bool) {
		return bound(name, func(args []any, kw *Dict) (any, error) {
			if _, err := bindArgs(name, args, kw); err != nil {
				return nil, err
			}
			return f(), nil
		}), true
	}
	withArgs := func(params []string, f func(a []any) (any, error)) (any, bool) {
		return bound(name, func(args []any, kw *Dict) (any, error) {
			a, err := bindArgs(name, args, kw, params...)
			if err != nil {
				return nil, err
			}
			return f(a)
		}), true
	}
	switch name {
	case "upper":
		return simple(func() any { return strings.ToUpper(s) })
	case "lower":
		return simple(func() any { return strings.ToLower(s) })
	case "casefold":
		return simple(func() any { return strings.ToLower(s) })
	case "title":
		return simple(func() any { return pyTitle(s) })
	case "capitalize":
		return simple(func() any { return pyCapitalize(s) })
	case "swapcase":
		return simple(func() any {
			return strings.Map(func(r rune) rune {
				if unicode.IsUpper(r) {
					return unicode.ToLower(r)
				}
				return unicode.ToUpper(r)
			}, s)
		})
	case "isdigit", "isdecimal", "isnumeric":
		return simple(func() any { return allRunes(s, unicode.IsDigit) })
	case "isalpha":
		return simple(func() any { return allRunes(s, unicode.IsLetter) })
	case "isalnum":
		return simple(func() any {
			return allRunes(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
		})
	case "isspace":
		return simple(func() any { return allRunes(s, pyIsSpace) })
	case "isupper":
		return simple(func() any { return hasCased(s, true) })
	case "islower":
		return simple(func() any { return hasCased(s, false) })
	case "strip", "lstrip", "rstrip":
		return withArgs([]string{"chars"}, func(a []any) (any, error) {
			return stripChars(s, a[0], name != "rstrip", name != "lstrip")
		})
	case "split", "rsplit":
		return withArgs([]string{"sep", "maxsplit"}, func(a []any) (any, error) {
			n, err := intArg(a[1], -1)
			if err != nil {
				return nil, err
			}
			return pySplit(s, a[0], n, name == "rsplit")
		})
	case "splitlines":
		return withArgs([]string{"keepends"}, func(a []any) (any, error) {
			lines := pySplitLines(s, truthy(orDefault(a[0], false)))
			out := make([]any, len(lines))
			for i, l := range lines {
				out[i] = l
			}
			return out, nil
		})
	case "startswith", "endswith":
		return withArgs([]string{"prefix", "start", "end"}, func(a []any) (any, error) {
			runes := []rune(s)
			b, e, err := substrRange(runes, a[1], a[2])
			if err != nil {
				return nil, err
			}
			sub := ""
			if b <= e {
				sub = string(runes[b:e])
			}
			if name == "startswith" {
				return prefixMatch(sub, a[0], name, strings.HasPrefix)
			}
			return prefixMatch(sub, a[0], name, strings.HasSuffix)
		})
	case "replace":
		return withArgs([]string{"old", "new", "count"}, func(a []any) (any, error) {
			old, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			repl, err := strArg(name, a[1])
			if err != nil {
				return nil, err
			}
			n, err := intArg(a[2], -1)
			if err != nil {
				return nil, err
			}
			return pyReplace(s, old, repl, n)
		})
	case "find", "rfind", "index", "rindex", "count":
		return withArgs([]string{"sub", "start", "end"}, func(a []any) (any, error) {
			sub, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			runes := []rune(s)
			b, e, err := substrRange(runes, a[1], a[2])
			if err != nil {
				return nil, err
			}
			if name == "count" {
				if b > e {
					return int64(0), nil
				}
				if sub == "" {
					return int64(e - b + 1), nil
				}
				return int64(strings.Count(string(runes[b:e]), sub)), nil
			}
			i := runeIndex(runes, []rune(sub), b, e, name[0] == 'r')
			if i < 0 && (name == "index" || name == "rindex") {
				return nil, valueErr("substring not found")
			}
			return int64(i), nil
		})
	case "join":
		return withArgs([]string{"iterable"}, func(a []any) (any, error) {
			items, err := iterate(a[0])
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(items))
			for i, it := range items {
				p, ok := strOf(it)
				if !ok {
					return nil, typeErr("sequence item %d: expected str instance, %s found", i, typeName(it))
				}
				parts[i] = p
			}
			return strings.Join(parts, s), nil
		})
	case "removeprefix":
		return withArgs([]string{"prefix"}, func(a []any) (any, error) {
			p, err := strArg(name, a[0])
			return strings.TrimPrefix(s, p), err
		})
	case "removesuffix":
		return withArgs([]string{"suffix"}, func(a []any) (any, error) {
			p, err := strArg(name, a[0])
			return strings.TrimSuffix(s, p), err
		})
	case "partition", "rpartition":
		return withArgs([]string{"sep"}, func(a []any) (any, error) {
			sep, err := strArg(name, a[0])
			if err != nil {
				return nil, err
			}
			if sep == "" {
				return nil, valueErr("empty separator")
			}
			i := strings.Index(s, sep)
			if name == "rpartition" {
				i = strings.LastIndex(s, sep)
			}
			if i < 0 {
				if name == "rpartition" {
					return Tuple{"", "", s}, nil
				}
				return Tuple{s, "", ""}, nil
			}
			return Tuple{s[:i], sep, s[i+len(sep):]}, nil
		})
	case "center", "ljust", "rjust":
		return withArgs([]string{"width", "fillchar"}, func(a []any) (any, error) {
			w, err := intArg(a[0], 0)
			if err != nil {
				return nil, err
			}
			return padTo(s, w, a[1], map[string]byte{"center": '^', "ljust": '<', "rjust": '>'}[name])
		})
	case "zfill":
		return withArgs([]string{"width"}, func(a []any) (any, error) {
			w, err := intArg(a[0], 0)
			if err != nil {
				return nil, err
			}
			sign := ""
			rest := s
			if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
				sign, rest = s[:1], s[1:]
			}
			padded, err := padTo(rest, w-int64(len(sign)), "0", '>')
			return sign + padded, err
		})
	case "format":
		return bound(name, func(args []any, kw *Dict) (any, error) { return strFormat(s, args, kw) }), true
	}
	return nil, false
}

func pyReplace(s, old, repl string, n int64) (any, error) {
	if n < 0 || n > 1<<30 {
		n = -1
	}
	count := strings.Count(s, old)
	if old == "" {
		count = utf8Len(s) + 1
	}
	if n >= 0 && int64(count) > n {
		count = int(n)
	}
	if len(s)+count*(len(repl)-len(old)) > maxRepeat {
		return nil, &Error{Kind: "LimitError", Msg: "replace result too large"}
	}
	return strings.Replace(s, old, repl, int(n)), nil
}

// strFormat is a small str.format: {} {0} {name} and {name.attr} fields
// without format specs beyond plain conversion.
func strFormat(s string, args []any, kw *Dict) (any, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '}' {
			if i+1 < len(s) && s[i+1] == '}' {
				i++
			}
			b.WriteByte('}')
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, valueErr("Single '{' encountered in format string")
		}
		field := s[i+1 : i+end]
		i += end
		field, _, _ = strings.Cut(field, ":")
		field, _, _ = strings.Cut(field, "!")
		var v any
		switch {
		case field == "":
			if auto >= len(args) {
				return nil, &Error{Kind: "IndexError", Msg: "Replacement index out of range"}
			}
			v = args[auto]
			auto++
		case field[0] >= '0' && field[0] <= '9':
			n := 0
			for _, d := range field {
				if d < '0' || d > '9' || n > 1000 {
					return nil, valueErr("bad format field")
				}
				n = n*10 + int(d-'0')
			}
			if n >= len(args) {
				return nil, &Error{Kind: "IndexError", Msg: "Replacement index out of range"}
			}
			v = args[n]
		default:
			var ok bool
			if kw != nil {
				v, ok = kw.Get(field)
			}
			if !ok {
				return nil, &Error{Kind: "KeyError", Msg: quoteStr(field)}
			}
		}
		s, err := toStr(v)
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
		if b.Len() > maxRepeat {
			return nil, &Error{Kind: "LimitError", Msg: "value exceeds the size limit"}
		}
	}
	return b.String(), nil
}
