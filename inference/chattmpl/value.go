package chattmpl

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Dict is a Python dict: keys keep their insertion order. Keys are strings,
// int64, float64, bool, nil or Tuple, as in Python; 1, 1.0 and True are the
// same key.
type Dict struct {
	keys []any
	vals []any
	idx  map[string]int
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{idx: map[string]int{}} }

// Set stores v under k, keeping the position of an existing key.
func (d *Dict) Set(k string, v any) { d.SetKey(k, v) }

// SetKey stores v under any hashable key.
func (d *Dict) SetKey(k, v any) {
	h, _ := hashKey(k)
	if i, ok := d.idx[h]; ok {
		d.vals[i] = v
		return
	}
	d.idx[h] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// Get returns the value stored under a string key.
func (d *Dict) Get(k string) (any, bool) { return d.GetKey(k) }

// GetKey returns the value stored under any key.
func (d *Dict) GetKey(k any) (any, bool) {
	h, ok := hashKey(k)
	if !ok {
		return nil, false
	}
	i, ok := d.idx[h]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// Len is the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

// Keys returns the keys in order.
func (d *Dict) Keys() []any { return append([]any(nil), d.keys...) }

// Values returns the values in key order.
func (d *Dict) Values() []any { return append([]any(nil), d.vals...) }

func (d *Dict) copyDict() *Dict {
	n := NewDict()
	for i, k := range d.keys {
		n.SetKey(k, d.vals[i])
	}
	return n
}

// Tuple is a Python tuple (it prints with parentheses and never equals a list).
type Tuple []any

// undefinedValue is Jinja's default Undefined: it prints as "", is false and
// empty, and fails on attribute access, arithmetic, calls and tojson.
type undefinedValue struct {
	hint string // the UndefinedError message
	kind string // error kind when used ("UndefinedError" or "SecurityError")
}

func (u *undefinedValue) err() error {
	k := u.kind
	if k == "" {
		k = "UndefinedError"
	}
	return &Error{Kind: k, Msg: u.hint}
}

func undefName(name string) *undefinedValue {
	return &undefinedValue{hint: fmt.Sprintf("'%s' is undefined", name)}
}

func undefAttr(obj any, name any) *undefinedValue {
	if s, ok := strOf(name); ok {
		return &undefinedValue{hint: fmt.Sprintf("%s has no attribute %s", quoteStr(objectTypeRepr(obj)), quoteStr(s))}
	}
	key, err := pyRepr(name)
	if err != nil {
		key = "(a key too large to print)"
	}
	return &undefinedValue{hint: fmt.Sprintf("%s has no element %s", objectTypeRepr(obj), key)}
}

func undefMsg(msg string) *undefinedValue { return &undefinedValue{hint: msg} }

func objectTypeRepr(obj any) string {
	if obj == nil {
		return "None"
	}
	return typeName(obj) + " object"
}

// namespace is the mutable object namespace() returns.
type namespace struct{ d *Dict }

// generator is a one-shot iterator (what map, select, selectattr, unique,
// reverse, batch and items return): it can be iterated once and is not JSON
// serializable.
type generator struct {
	items []any
	pos   int
	name  string
}

func (g *generator) drain() []any {
	out := g.items[g.pos:]
	g.pos = len(g.items)
	return out
}

// callable is a function value: globals, bound methods, macros and caller.
type callable struct {
	name string
	fn   func(r *renderer, args []any, kw *Dict) (any, error)
}

// typeName is Python's type(v).__name__.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case markup:
		return "Markup"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *undefinedValue:
		return "Undefined"
	case *namespace:
		return "Namespace"
	case *generator:
		return v.(*generator).name
	case *loopContext:
		return "LoopContext"
	case *callable:
		return "function"
	case rangeValue:
		return "range"
	case *dictView:
		return v.(*dictView).kind
	}
	return fmt.Sprintf("%T", v)
}

// truthy is Python's bool(v).
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case markup:
		return x != ""
	case []any:
		return len(x) > 0
	case Tuple:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	case *undefinedValue:
		return false
	case rangeValue:
		return x.length() > 0
	case *dictView:
		return len(x.items) > 0
	}
	return true
}

// maxRepr bounds the text str() and repr() build: a value made of shared
// parts (a namespace holding a list of itself twice, doubled in a loop) can
// print as exponentially much text.
const maxRepr = maxRepeat

// toStr is Python's str(v) as Jinja prints it; a LimitError when the text
// would exceed maxRepr.
func toStr(v any) (string, error) {
	if s, ok := strOf(v); ok {
		return s, nil
	}
	if _, ok := v.(*undefinedValue); ok {
		return "", nil
	}
	return pyRepr(v)
}

// pyRepr is Python's repr(v); a LimitError when the text would exceed
// maxRepr.
func pyRepr(v any) (string, error) {
	w := reprWriter{}
	w.write(v, 0)
	if w.over {
		return "", &Error{Kind: "LimitError", Msg: "value exceeds the size limit"}
	}
	return w.b.String(), nil
}

// toStrs is toStr of each value.
func toStrs(vs ...any) ([]string, error) {
	out := make([]string, len(vs))
	for i, v := range vs {
		s, err := toStr(v)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// quoteStr is repr(s) of a string, which is never longer than a few times s.
func quoteStr(s string) string {
	var b strings.Builder
	writeStrRepr(&b, s)
	return b.String()
}

// reprWriter builds a repr. Like Python, it prints a list, tuple or dict met
// again inside itself as [...], (...) or {...} (only namespaces, the one
// mutable value, can make such cycles), and it stops at maxRepr.
type reprWriter struct {
	b      strings.Builder
	active map[any]bool
	over   bool
}

// reprKey identifies a list or tuple by its elements' storage, as Python's
// object identity would.
type reprKey struct {
	first *any
	n     int
}

// enter marks a container as being printed; false if it already is.
func (w *reprWriter) enter(k any) bool {
	if w.active == nil {
		w.active = map[any]bool{}
	}
	if w.active[k] {
		return false
	}
	w.active[k] = true
	return true
}

func (w *reprWriter) seq(open, close string, k reprKey, items []any, depth int, oneComma bool) {
	if k.n > 0 && !w.enter(k) {
		w.b.WriteString(open + "..." + close)
		return
	}
	w.b.WriteString(open)
	for i, e := range items {
		if i > 0 {
			w.b.WriteString(", ")
		}
		w.write(e, depth+1)
		if w.over {
			return
		}
	}
	if oneComma && len(items) == 1 {
		w.b.WriteByte(',')
	}
	w.b.WriteString(close)
	if k.n > 0 {
		delete(w.active, k)
	}
}

func (w *reprWriter) write(v any, depth int) {
	if w.over || w.b.Len() > maxRepr {
		w.over = true
		return
	}
	b := &w.b
	if depth > 100 {
		b.WriteString("...")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(formatFloat(x))
	case string:
		writeStrRepr(b, x)
	case markup:
		b.WriteString("Markup(")
		writeStrRepr(b, string(x))
		b.WriteString(")")
	case []any:
		w.seq("[", "]", seqKey(x), x, depth, false)
	case Tuple:
		w.seq("(", ")", seqKey(x), x, depth, true)
	case *Dict:
		if !w.enter(x) {
			b.WriteString("{...}")
			return
		}
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			w.write(k, depth+1)
			b.WriteString(": ")
			w.write(x.vals[i], depth+1)
			if w.over {
				return
			}
		}
		b.WriteByte('}')
		delete(w.active, x)
	case *undefinedValue:
		b.WriteString("Undefined")
	case *namespace:
		b.WriteString("<Namespace ")
		w.write(x.d, depth+1)
		b.WriteString(">")
	case *generator:
		b.WriteString("<" + x.name + " object>")
	case *loopContext:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.index0+1, len(x.items))
	case *callable:
		b.WriteString("<function " + x.name + ">")
	case rangeValue:
		b.WriteString(x.repr())
	case *dictView:
		b.WriteString(x.kind + "(")
		w.write(x.items, depth+1)
		b.WriteString(")")
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

// seqKey is the identity of a list or tuple; empty ones need none (they
// cannot contain themselves).
func seqKey(items []any) reprKey {
	if len(items) == 0 {
		return reprKey{}
	}
	return reprKey{&items[0], len(items)}
}

// writeStrRepr quotes s the way Python's repr does.
func writeStrRepr(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case unicode.IsPrint(r) && r != utf8.RuneError:
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
}

// formatFloat is Python's repr(float): the shortest representation that
// round-trips, in fixed notation for exponents in [-4, 16), with ".0" added
// to integral values.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1
	var out string
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			out = "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			out = digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			out = digits[:decpt] + "." + digits[decpt:]
		}
	} else {
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		out += fmt.Sprintf("e%s%02d", sign, exp)
	}
	if neg {
		out = "-" + out
	}
	return out
}

// hashKey maps a hashable value to a dict key; ok is false for unhashable
// values (lists, dicts).
func hashKey(k any) (string, bool) {
	switch x := k.(type) {
	case nil:
		return "n", true
	case bool:
		if x {
			return "i1", true
		}
		return "i0", true
	case int64:
		return "i" + strconv.FormatInt(x, 10), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			return "i" + strconv.FormatInt(int64(x), 10), true
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		return "s" + x, true
	case markup:
		return "s" + string(x), true
	case Tuple:
		var b strings.Builder
		b.WriteString("t(")
		for _, e := range x {
			h, ok := hashKey(e)
			if !ok {
				return "", false
			}
			b.WriteString(strconv.Itoa(len(h)))
			b.WriteByte(':')
			b.WriteString(h)
		}
		b.WriteByte(')')
		return b.String(), true
	case *undefinedValue:
		return "u", true
	}
	return "", false
}

// asNumber reports v as a Python number; bools count as ints.
func asNumber(v any) (i int64, f float64, isFloat, ok bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, 1, false, true
		}
		return 0, 0, false, true
	case int64:
		return x, float64(x), false, true
	case float64:
		return 0, x, true, true
	}
	return 0, 0, false, false
}

// pyEqual is Python's ==.
func pyEqual(a, b any) bool {
	var e equality
	return e.equal(a, b, 0)
}

// equality is one comparison. Like Python, it takes a list, tuple or dict
// as equal to itself without looking inside; it also remembers the pairs of
// containers found equal, so values built from shared parts (a list of
// itself twice, doubled in a loop) compare in time proportional to their
// distinct parts, not to their exponential printed size.
type equality struct {
	same map[[2]any]bool
}

func (e *equality) equal(a, b any, depth int) bool {
	if depth > 100 {
		return false
	}
	if ai, af, aflt, ok := asNumber(a); ok {
		bi, bf, bflt, ok := asNumber(b)
		if !ok {
			return false
		}
		if !aflt && !bflt {
			return ai == bi
		}
		return af == bf
	}
	if x, ok := strOf(a); ok {
		y, ok := strOf(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case []any:
		y, ok := b.([]any)
		return ok && e.seq(x, y, depth)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && e.seq(x, y, depth)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		if x == y || e.same[[2]any{x, y}] {
			return true
		}
		for i, k := range x.keys {
			v, ok := y.GetKey(k)
			if !ok || !e.equal(x.vals[i], v, depth+1) {
				return false
			}
		}
		e.remember(x, y)
		return true
	case *undefinedValue:
		_, ok := b.(*undefinedValue)
		return ok
	case rangeValue:
		y, ok := b.(rangeValue)
		return ok && e.seq(x.items(), y.items(), depth)
	}
	return a == b
}

func (e *equality) seq(x, y []any, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	kx, ky := seqKey(x), seqKey(y)
	if len(x) == 0 || kx == ky || e.same[[2]any{kx, ky}] {
		return true
	}
	for i := range x {
		if !e.equal(x[i], y[i], depth+1) {
			return false
		}
	}
	e.remember(kx, ky)
	return true
}

func (e *equality) remember(a, b any) {
	if e.same == nil {
		e.same = map[[2]any]bool{}
	}
	e.same[[2]any{a, b}] = true
}

// pyCompare is Python's ordering: -1, 0 or 1, or a TypeError for values
// that do not order.
func pyCompare(a, b any, op string) (int, error) {
	if ai, af, aflt, ok := asNumber(a); ok {
		if bi, bf, bflt, ok := asNumber(b); ok {
			if !aflt && !bflt {
				return cmp3(ai < bi, ai > bi), nil
			}
			return cmp3(af < bf, af > bf), nil
		}
	}
	if x, ok := strOf(a); ok {
		if y, ok := strOf(b); ok {
			return strings.Compare(x, y), nil
		}
	}
	switch x := a.(type) {
	case []any:
		if y, ok := b.([]any); ok {
			return seqCompare(x, y, op)
		}
	case Tuple:
		if y, ok := b.(Tuple); ok {
			return seqCompare(x, y, op)
		}
	case *undefinedValue:
		return 0, x.err()
	}
	if u, ok := b.(*undefinedValue); ok {
		return 0, u.err()
	}
	return 0, typeErr("'%s' not supported between instances of '%s' and '%s'", op, typeName(a), typeName(b))
}

func cmp3(lt, gt bool) int {
	switch {
	case lt:
		return -1
	case gt:
		return 1
	}
	return 0
}

func seqCompare(x, y []any, op string) (int, error) {
	for i := 0; i < len(x) && i < len(y); i++ {
		if pyEqual(x[i], y[i]) {
			continue
		}
		return pyCompare(x[i], y[i], op)
	}
	return cmp3(len(x) < len(y), len(x) > len(y)), nil
}

// sortValues sorts in place with Python's stable sort semantics.
func sortValues(items []any, key func(any) (any, error), reverse bool) error {
	keys := make([]any, len(items))
	for i, it := range items {
		k, err := key(it)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var firstErr error
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := keys[idx[i]], keys[idx[j]]
		if reverse {
			a, b = b, a
		}
		c, err := pyCompare(a, b, "<")
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return c < 0
	})
	if firstErr != nil {
		return firstErr
	}
	out := make([]any, len(items))
	for i, j := range idx {
		out[i] = items[j]
	}
	copy(items, out)
	return nil
}

// pyLen is Python's len(v).
func pyLen(v any) (int, error) {
	switch x := plain(v).(type) {
	case string:
		return utf8.RuneCountInString(x), nil
	case []any:
		return len(x), nil
	case Tuple:
		return len(x), nil
	case *Dict:
		return x.Len(), nil
	case *undefinedValue:
		return 0, nil
	case rangeValue:
		return int(x.length()), nil
	case *dictView:
		return len(x.items), nil
	}
	return 0, typeErr("object of type '%s' has no len()", typeName(v))
}

// iterate is Python's list(iter(v)): strings yield characters, dicts their
// keys, Undefined nothing; generators are consumed.
func iterate(v any) ([]any, error) {
	switch x := plain(v).(type) {
	case []any:
		return x, nil
	case Tuple:
		return x, nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case *Dict:
		return x.Keys(), nil
	case *generator:
		return x.drain(), nil
	case *undefinedValue:
		return nil, nil
	case rangeValue:
		return x.items(), nil
	case *dictView:
		return x.items, nil
	case *namespace:
		return nil, typeErr("'Namespace' object is not iterable")
	}
	return nil, typeErr("'%s' object is not iterable", typeName(v))
}

// isIterable mirrors Jinja's iterable test.
func isIterable(v any) bool {
	switch v.(type) {
	case []any, Tuple, string, markup, *Dict, *generator, *undefinedValue, rangeValue, *dictView:
		return true
	}
	return false
}

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return r > 0x7f && unicode.IsSpace(r)
}
