package chattmpl

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

type testFunc func(r *renderer, v any, args []any, kw *Dict) (bool, error)

// tests is the table of Jinja tests ("x is defined").
var tests map[string]testFunc

func init() {
	compareTest := func(op string) testFunc {
		return func(_ *renderer, v any, args []any, kw *Dict) (bool, error) {
			a, err := bindArgs(op, args, kw, "other")
			if err != nil {
				return false, err
			}
			return compare(op, v, orDefault(a[0], nil))
		}
	}
	is := func(pred func(v any) bool) testFunc {
		return func(_ *renderer, v any, _ []any, _ *Dict) (bool, error) { return pred(v), nil }
	}
	tests = map[string]testFunc{
		"defined":   is(func(v any) bool { _, u := v.(*undefinedValue); return !u }),
		"undefined": is(func(v any) bool { _, u := v.(*undefinedValue); return u }),
		"none":      is(func(v any) bool { return v == nil }),
		"boolean":   is(func(v any) bool { _, ok := v.(bool); return ok }),
		"true":      is(func(v any) bool { b, ok := v.(bool); return ok && b }),
		"false":     is(func(v any) bool { b, ok := v.(bool); return ok && !b }),
		"integer":   is(func(v any) bool { _, ok := v.(int64); return ok }),
		"float":     is(func(v any) bool { _, ok := v.(float64); return ok }),
		"number":    is(func(v any) bool { _, _, _, ok := asNumber(v); return ok }),
		"string":    is(func(v any) bool { _, ok := v.(string); return ok }),
		"mapping":   is(func(v any) bool { _, ok := v.(*Dict); return ok }),
		"iterable":  is(isIterable),
		"sequence": is(func(v any) bool {
			switch v.(type) {
			case string, []any, Tuple, *Dict, *undefinedValue, rangeValue:
				return true
			}
			return false
		}),
		"callable": is(func(v any) bool {
			switch v.(type) {
			case *callable, *undefinedValue:
				return true
			}
			return false
		}),
		"escaped": is(isMarkup),
		"lower":   casedTest(false),
		"upper":   casedTest(true),
		"odd":     parityTest(1),
		"even":    parityTest(0),
		"divisibleby": func(_ *renderer, v any, args []any, kw *Dict) (bool, error) {
			a, err := bindArgs("divisibleby", args, kw, "num")
			if err != nil {
				return false, err
			}
			m, err := binaryOp("%", v, orDefault(a[0], nil))
			if err != nil {
				return false, err
			}
			return pyEqual(m, int64(0)), nil
		},
		"sameas": func(_ *renderer, v any, args []any, kw *Dict) (bool, error) {
			a, err := bindArgs("sameas", args, kw, "other")
			if err != nil {
				return false, err
			}
			return sameAs(v, orDefault(a[0], nil)), nil
		},
		"in": func(_ *renderer, v any, args []any, kw *Dict) (bool, error) {
			a, err := bindArgs("in", args, kw, "seq")
			if err != nil {
				return false, err
			}
			return contains(orDefault(a[0], nil), v)
		},
		"filter": is(func(v any) bool { s, ok := v.(string); _, f := filters[s]; return ok && f }),
		"test":   is(func(v any) bool { s, ok := v.(string); _, f := tests[s]; return ok && f }),
	}
	for name, fn := range tests {
		if name != "escaped" {
			tests[name] = plainTest(fn)
		}
	}
	for _, op := range [][]string{{"==", "eq", "equalto"}, {"!=", "ne"}, {"<", "lt", "lessthan"}, {"<=", "le"}, {">", "gt", "greaterthan"}, {">=", "ge"}} {
		for _, name := range op {
			tests[name] = compareTest(op[0])
		}
	}
}

// plainTest wraps a test that treats markup as a plain str.
func plainTest(fn testFunc) testFunc {
	return func(r *renderer, v any, args []any, kw *Dict) (bool, error) {
		args, kw = plainArgs(args, kw)
		return fn(r, plain(v), args, kw)
	}
}

func parityTest(want int64) testFunc {
	return func(_ *renderer, v any, _ []any, _ *Dict) (bool, error) {
		m, err := binaryOp("%", v, int64(2))
		if err != nil {
			return false, err
		}
		return pyEqual(m, want), nil
	}
}

// sameAs approximates Python's "is": equal scalars of the same type, and
// the very same container.
func sameAs(a, b any) bool {
	switch a.(type) {
	case nil, bool, int64, float64, string:
		return reflect.TypeOf(a) == reflect.TypeOf(b) && pyEqual(a, b)
	}
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != rb.Kind() || ra.Type() != rb.Type() {
		return false
	}
	switch ra.Kind() {
	case reflect.Slice:
		return ra.Len() == rb.Len() && (ra.Len() == 0 || ra.Pointer() == rb.Pointer())
	case reflect.Pointer:
		return ra.Pointer() == rb.Pointer()
	}
	return false
}

func (r *renderer) evalTest(n *testExpr, sc *scope) (any, error) {
	v, err := r.eval(n.node, sc)
	if err != nil {
		return nil, err
	}
	fn, ok := tests[n.name]
	if !ok {
		return nil, runtimeErr("No test named '%s' found.", n.name)
	}
	args, kw, err := r.evalArgs(n.args, sc)
	if err != nil {
		return nil, err
	}
	return fn(r, v, args, kw)
}

// globals are the functions every template can call.
var globals map[string]any

func init() {
	globals = map[string]any{
		"range":           &callable{name: "range", fn: globalRange},
		"dict":            &callable{name: "dict", fn: globalDict},
		"namespace":       &callable{name: "namespace", fn: globalNamespace},
		"joiner":          &callable{name: "joiner", fn: globalJoiner},
		"raise_exception": &callable{name: "raise_exception", fn: globalRaise},
		"strftime_now":    &callable{name: "strftime_now", fn: globalStrftimeNow},
	}
}

// maxRange is the sandbox's limit on range().
const maxRange = 100000

func globalRange(_ *renderer, args []any, kw *Dict) (any, error) {
	if kw != nil && kw.Len() > 0 {
		return nil, typeErr("range() takes no keyword arguments")
	}
	var ints []int64
	for _, a := range args {
		i, err := intArg(a, 0)
		if err != nil {
			return nil, err
		}
		if a == nil {
			return nil, typeErr("'NoneType' object cannot be interpreted as an integer")
		}
		ints = append(ints, i)
	}
	var start, stop, step int64 = 0, 0, 1
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, typeErr("range expected at most 3 arguments, got %d", len(ints))
	}
	if step == 0 {
		return nil, valueErr("range() arg 3 must not be zero")
	}
	rv := rangeValue{start: start, stop: stop, step: step}
	if n := rv.length(); n > maxRange || n < 0 {
		return nil, &Error{Kind: "OverflowError", Msg: "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."}
	}
	return rv, nil
}

func globalDict(_ *renderer, args []any, kw *Dict) (any, error) {
	d := NewDict()
	if len(args) > 1 {
		return nil, typeErr("dict expected at most 1 argument, got %d", len(args))
	}
	if len(args) == 1 {
		switch x := args[0].(type) {
		case *Dict:
			d = x.copyDict()
		default:
			items, err := iterate(x)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				pair, err := iterate(it)
				if err != nil || len(pair) != 2 {
					return nil, valueErr("dictionary update sequence element has wrong length")
				}
				if _, ok := hashKey(pair[0]); !ok {
					return nil, typeErr("unhashable type: '%s'", typeName(pair[0]))
				}
				d.SetKey(pair[0], pair[1])
			}
		}
	}
	if kw != nil {
		for i, k := range kw.keys {
			d.SetKey(k, kw.vals[i])
		}
	}
	return d, nil
}

func globalNamespace(r *renderer, args []any, kw *Dict) (any, error) {
	d, err := globalDict(r, args, kw)
	if err != nil {
		return nil, err
	}
	return &namespace{d: d.(*Dict)}, nil
}

// casedTest is the lower/upper test: str(v) has cased characters, all of
// them in the one case.
func casedTest(upper bool) testFunc {
	return func(_ *renderer, v any, _ []any, _ *Dict) (bool, error) {
		s, err := toStr(v)
		if err != nil {
			return false, err
		}
		return hasCased(s, upper), nil
	}
}

func globalJoiner(_ *renderer, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("joiner", args, kw, "sep")
	if err != nil {
		return nil, err
	}
	sep, err := toStr(orDefault(a[0], ", "))
	if err != nil {
		return nil, err
	}
	used := false
	return &callable{name: "joiner", fn: func(_ *renderer, _ []any, _ *Dict) (any, error) {
		if !used {
			used = true
			return "", nil
		}
		return sep, nil
	}}, nil
}

func globalRaise(_ *renderer, args []any, _ *Dict) (any, error) {
	msg := ""
	if len(args) > 0 {
		var err error
		if msg, err = toStr(args[0]); err != nil {
			return nil, err
		}
	}
	return nil, &Error{Kind: "TemplateError", Msg: msg}
}

func globalStrftimeNow(r *renderer, args []any, kw *Dict) (any, error) {
	a, err := bindArgs("strftime_now", args, kw, "format")
	if err != nil {
		return nil, err
	}
	f, err := strArg("strftime_now", a[0])
	if err != nil {
		return nil, err
	}
	return strftime(r.now(), f), nil
}

// strftime formats t with C strftime directives (glibc flavour, including
// the "-" flag that drops padding).
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		noPad := false
		if f[i] == '-' && i+1 < len(f) {
			noPad = true
			i++
		}
		num := func(v, width int) {
			s := strconv.Itoa(v)
			if !noPad {
				for len(s) < width {
					s = "0" + s
				}
			}
			b.WriteString(s)
		}
		hour12 := t.Hour() % 12
		if hour12 == 0 {
			hour12 = 12
		}
		switch f[i] {
		case 'Y':
			num(t.Year(), 1)
		case 'y':
			num(t.Year()%100, 2)
		case 'C':
			num(t.Year()/100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'e':
			s := strconv.Itoa(t.Day())
			if len(s) < 2 && !noPad {
				s = " " + s
			}
			b.WriteString(s)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			num(hour12, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'f':
			num(t.Nanosecond()/1000, 6)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'w':
			num(int(t.Weekday()), 1)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			num(wd, 1)
		case 'F':
			b.WriteString(strftime(t, "%Y-%m-%d"))
		case 'T':
			b.WriteString(strftime(t, "%H:%M:%S"))
		case 'D':
			b.WriteString(strftime(t, "%m/%d/%y"))
		case 'R':
			b.WriteString(strftime(t, "%H:%M"))
		case 'c':
			b.WriteString(strftime(t, "%a %b %e %H:%M:%S %Y"))
		case 'x':
			b.WriteString(strftime(t, "%m/%d/%y"))
		case 'X':
			b.WriteString(strftime(t, "%H:%M:%S"))
		case 'Z', 'z':
			// strftime_now formats a naive local time: no zone
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if noPad {
				b.WriteByte('-')
			}
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
