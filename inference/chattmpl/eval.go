package chattmpl

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// scope is one level of variables; lookups walk up to the root, which holds
// the render variables and the globals.
type scope struct {
	vars   map[string]any
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]any{}, parent: parent} }

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type ctrl int

const (
	ctrlNone ctrl = iota
	ctrlBreak
	ctrlContinue
)

// renderer holds the state of one rendering.
type renderer struct {
	out      *strings.Builder
	steps    int
	depth    int
	maxSteps int
	maxOut   int
	maxDepth int
	now      func() time.Time
	// constMode evaluates constant expressions at parse time: variables,
	// calls and context filters are refused, failed subscripts are undefined.
	constMode bool
}

// writeValue writes str(v).
func (r *renderer) writeValue(v any) error {
	s, err := toStr(v)
	if err != nil {
		return err
	}
	return r.write(s)
}

func (r *renderer) write(s string) error {
	if r.out.Len()+len(s) > r.maxOut {
		return &Error{Kind: "LimitError", Msg: "rendered output exceeds the size limit"}
	}
	r.out.WriteString(s)
	return nil
}

// checkSize rejects intermediate strings and lists beyond the output limit.
func (r *renderer) checkSize(n int) error {
	if n > r.maxOut || n < 0 {
		return &Error{Kind: "LimitError", Msg: "value exceeds the size limit"}
	}
	return nil
}

func (r *renderer) step() error {
	r.steps++
	if r.steps > r.maxSteps {
		return &Error{Kind: "LimitError", Msg: "template ran too many steps (infinite loop?)"}
	}
	return nil
}

func (r *renderer) enter() error {
	r.depth++
	if r.depth > r.maxDepth {
		return &Error{Kind: "RecursionError", Msg: "maximum recursion depth exceeded"}
	}
	return nil
}

func (r *renderer) leave() { r.depth-- }

// capture renders body into a string instead of the output.
func (r *renderer) capture(body []stmt, sc *scope) (string, ctrl, error) {
	saved := r.out
	var b strings.Builder
	r.out = &b
	c, err := r.exec(body, sc)
	r.out = saved
	if err == nil {
		err = r.checkSize(saved.Len() + b.Len())
	}
	return b.String(), c, err
}

func (r *renderer) exec(body []stmt, sc *scope) (ctrl, error) {
	if err := r.enter(); err != nil {
		return ctrlNone, err
	}
	defer r.leave()
	for _, s := range body {
		if err := r.step(); err != nil {
			return ctrlNone, err
		}
		c, err := r.execOne(s, sc)
		if err != nil || c != ctrlNone {
			return c, err
		}
	}
	return ctrlNone, nil
}

func (r *renderer) execOne(s stmt, sc *scope) (ctrl, error) {
	switch n := s.(type) {
	case *textStmt:
		return ctrlNone, r.write(n.text)
	case *outputStmt:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, atLine0(r.writeValue(v), n.line)
	case *ifStmt:
		for i, c := range n.conds {
			v, err := r.eval(c, sc)
			if err != nil {
				return ctrlNone, err
			}
			if truthy(v) {
				return r.exec(n.bodies[i], sc)
			}
		}
		return r.exec(n.els, sc)
	case *forStmt:
		return ctrlNone, r.execFor(n, sc)
	case *setStmt:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, atLine0(assign(sc, n.tgt, v), n.line)
	case *setBlockStmt:
		v, err := r.renderFiltered(n.body, n.filters, n.undef, sc)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, atLine0(assign(sc, n.tgt, v), n.line)
	case *macroStmt:
		sc.vars[n.m.name] = r.makeMacro(n.m, sc, nil)
		return ctrlNone, nil
	case *callBlockStmt:
		caller := r.makeMacro(n.caller, sc, nil)
		v, err := r.evalCall(n.call, sc, caller)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, atLine0(r.writeValue(v), n.line)
	case *filterBlockStmt:
		v, err := r.renderFiltered(n.body, n.filters, n.undef, sc)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, atLine0(r.writeValue(v), n.line)
	case *withStmt:
		inner := newScope(sc)
		vals := make([]any, len(n.vals))
		for i, x := range n.vals {
			v, err := r.eval(x, sc)
			if err != nil {
				return ctrlNone, err
			}
			vals[i] = v
		}
		for i, t := range n.tgts {
			if err := assign(inner, t, vals[i]); err != nil {
				return ctrlNone, atLine(err, n.line)
			}
		}
		enterFrame(inner, n.undef)
		return r.exec(n.body, inner)
	case *breakStmt:
		return ctrlBreak, nil
	case *continueStmt:
		return ctrlContinue, nil
	}
	return ctrlNone, &Error{Kind: "InternalError", Msg: "unknown statement"}
}

// renderFiltered renders a block body in its own scope and pipes the text
// through filters (block sets and filter blocks).
func (r *renderer) renderFiltered(body []stmt, fs []*filterExpr, undef []string, sc *scope) (any, error) {
	inner := newScope(sc)
	enterFrame(inner, undef)
	text, _, err := r.capture(body, inner)
	if err != nil {
		return nil, err
	}
	var v any = text
	for _, f := range fs {
		if v, err = r.applyFilter(f, v, sc); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func atLine0(err error, line int) error {
	if err == nil {
		return nil
	}
	return atLine(err, line)
}

// assign stores v into a set/for target.
func assign(sc *scope, t target, v any) error {
	if t.attr != "" {
		obj, ok := sc.lookup(t.names[0])
		ns, isNS := obj.(*namespace)
		if !ok || !isNS {
			return runtimeErr("cannot assign attribute on non-namespace object")
		}
		ns.d.Set(t.attr, v)
		return nil
	}
	if !t.tuple {
		sc.vars[t.names[0]] = v
		return nil
	}
	items, err := iterate(v)
	if err != nil {
		return typeErr("cannot unpack non-iterable %s object", typeName(v))
	}
	if len(items) != len(t.names) {
		if len(items) > len(t.names) {
			return valueErr("too many values to unpack (expected %d)", len(t.names))
		}
		return valueErr("not enough values to unpack (expected %d, got %d)", len(t.names), len(items))
	}
	for i, name := range t.names {
		sc.vars[name] = items[i]
	}
	return nil
}

// loopContext is the loop variable inside a for loop.
type loopContext struct {
	items      []any
	index0     int
	lastSeen   any
	hasChanged bool
}

func (r *renderer) execFor(n *forStmt, sc *scope) error {
	seq, err := r.eval(n.iter, sc)
	if err != nil {
		return err
	}
	all, err := iterate(seq)
	if err != nil {
		return atLine(err, n.line)
	}
	// Jinja gives every iteration a fresh scope: assignments in the body do
	// not survive into the next iteration or after the loop.
	items := all
	if n.cond != nil {
		items = nil
		for _, it := range all {
			if err := r.step(); err != nil {
				return err
			}
			condScope := newScope(sc)
			if err := assign(condScope, n.tgt, it); err != nil {
				return atLine(err, n.line)
			}
			ok, err := r.eval(n.cond, condScope)
			if err != nil {
				return err
			}
			if truthy(ok) {
				items = append(items, it)
			}
		}
	}
	lc := &loopContext{items: items}
	for i, it := range items {
		if err := r.step(); err != nil {
			return atLine(err, n.line)
		}
		lc.index0 = i
		inner := newScope(sc)
		inner.vars["loop"] = lc
		if err := assign(inner, n.tgt, it); err != nil {
			return atLine(err, n.line)
		}
		enterFrame(inner, n.bodyUndef)
		c, err := r.exec(n.body, inner)
		if err != nil {
			return err
		}
		if c == ctrlBreak {
			break
		}
	}
	if len(items) == 0 {
		elseScope := newScope(sc)
		enterFrame(elseScope, n.elseUndef)
		_, err := r.exec(n.els, elseScope)
		return err
	}
	return nil
}

func (lc *loopContext) attr(name string) (any, bool) {
	i, n := lc.index0, len(lc.items)
	switch name {
	case "index":
		return int64(i + 1), true
	case "index0":
		return int64(i), true
	case "revindex":
		return int64(n - i), true
	case "revindex0":
		return int64(n - i - 1), true
	case "first":
		return i == 0, true
	case "last":
		return i == n-1, true
	case "length":
		return int64(n), true
	case "depth": // recursion depth; recursive loops are not supported
		return int64(1), true
	case "depth0":
		return int64(0), true
	case "previtem":
		if i == 0 {
			return undefMsg("there is no previous item"), true
		}
		return lc.items[i-1], true
	case "nextitem":
		if i+1 >= n {
			return undefMsg("there is no next item"), true
		}
		return lc.items[i+1], true
	case "cycle":
		return &callable{name: "loop.cycle", fn: func(_ *renderer, args []any, _ *Dict) (any, error) {
			if len(args) == 0 {
				return nil, typeErr("no items for cycling given")
			}
			return args[lc.index0%len(args)], nil
		}}, true
	case "changed":
		return &callable{name: "loop.changed", fn: func(_ *renderer, args []any, _ *Dict) (any, error) {
			v := Tuple(args)
			if lc.hasChanged && pyEqual(lc.lastSeen, v) {
				return false, nil
			}
			lc.lastSeen, lc.hasChanged = v, true
			return true, nil
		}}, true
	}
	return nil, false
}

// macro values

// makeMacro turns a macro definition into a callable closing over sc.
func (r *renderer) makeMacro(m *macroDef, defScope *scope, _ any) *callable {
	return &callable{name: m.name, fn: func(r *renderer, args []any, kw *Dict) (any, error) {
		if err := r.enter(); err != nil {
			return nil, err
		}
		defer r.leave()
		sc := newScope(defScope)
		var extra []any
		for i, a := range args {
			if i < len(m.params) {
				sc.vars[m.params[i]] = a
			} else {
				extra = append(extra, a)
			}
		}
		kwargs := NewDict()
		if kw != nil {
			for i, k := range kw.keys {
				name, _ := k.(string)
				if containsStr(m.params, name) {
					if _, dup := sc.vars[name]; dup && indexOf(m.params, name) < len(args) {
						return nil, typeErr("macro '%s' got multiple values for argument '%s'", m.name, name)
					}
					sc.vars[name] = kw.vals[i]
				} else if name == "caller" {
					sc.vars["caller"] = kw.vals[i]
				} else {
					kwargs.SetKey(k, kw.vals[i])
				}
			}
		}
		firstDefault := len(m.params) - len(m.defaults)
		for i, name := range m.params {
			if _, ok := sc.vars[name]; ok {
				continue
			}
			if i >= firstDefault {
				v, err := r.eval(m.defaults[i-firstDefault], sc)
				if err != nil {
					return nil, err
				}
				sc.vars[name] = v
			} else {
				sc.vars[name] = undefMsg("parameter '" + name + "' was not provided")
			}
		}
		if extra == nil {
			extra = []any{}
		}
		sc.vars["varargs"] = Tuple(extra)
		sc.vars["kwargs"] = kwargs
		if _, ok := sc.vars["caller"]; !ok {
			sc.vars["caller"] = undefName("caller")
		}
		enterFrame(sc, m.undef)
		text, _, err := r.capture(m.body, sc)
		return text, err
	}}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// Expressions.

func (r *renderer) eval(e expr, sc *scope) (any, error) {
	if err := r.enter(); err != nil {
		return nil, atLine(err, e.lineNo())
	}
	if err := r.step(); err != nil {
		r.leave()
		return nil, atLine(err, e.lineNo())
	}
	v, err := r.evalInner(e, sc)
	r.leave()
	if err != nil {
		return nil, atLine(err, e.lineNo())
	}
	return v, nil
}

func (r *renderer) evalInner(e expr, sc *scope) (any, error) {
	switch n := e.(type) {
	case *constExpr:
		return n.v, nil
	case *nameExpr:
		if r.constMode {
			return nil, notConstError{}
		}
		if v, ok := sc.lookup(n.name); ok {
			return v, nil
		}
		if g, ok := globals[n.name]; ok {
			return g, nil
		}
		return undefName(n.name), nil
	case *listExpr:
		items, err := r.evalList(n.items, sc)
		if err != nil {
			return nil, err
		}
		if items == nil {
			items = []any{}
		}
		return items, nil
	case *tupleExpr:
		items, err := r.evalList(n.items, sc)
		return Tuple(items), err
	case *dictExpr:
		d := NewDict()
		for i := range n.keys {
			k, err := r.eval(n.keys[i], sc)
			if err != nil {
				return nil, err
			}
			v, err := r.eval(n.vals[i], sc)
			if err != nil {
				return nil, err
			}
			if _, ok := hashKey(k); !ok {
				return nil, typeErr("unhashable type: '%s'", typeName(k))
			}
			d.SetKey(k, v)
		}
		return d, nil
	case *getattrExpr:
		obj, err := r.eval(n.obj, sc)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, n.name)
	case *getitemExpr:
		obj, err := r.eval(n.obj, sc)
		if err != nil {
			return nil, err
		}
		key, err := r.eval(n.key, sc)
		if err != nil {
			return nil, err
		}
		return getItem(obj, key)
	case *sliceExpr:
		return r.evalSlice(n, sc)
	case *callExpr:
		if r.constMode {
			return nil, notConstError{}
		}
		return r.evalCall(n, sc, nil)
	case *filterExpr:
		if r.constMode && contextFilters[n.name] {
			return nil, notConstError{}
		}
		v, err := r.eval(n.node, sc)
		if err != nil {
			return nil, err
		}
		return r.applyFilter(n, v, sc)
	case *testExpr:
		return r.evalTest(n, sc)
	case *unaryExpr:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return nil, err
		}
		switch n.op {
		case "not":
			return !truthy(v), nil
		case "-":
			return negate(v)
		default:
			if _, _, _, ok := asNumber(v); ok {
				if b, isBool := v.(bool); isBool {
					return boolToInt(b), nil
				}
				return v, nil
			}
			if u, ok := v.(*undefinedValue); ok {
				return nil, u.err()
			}
			return nil, typeErr("bad operand type for unary +: '%s'", typeName(v))
		}
	case *binExpr:
		return r.evalBinary(n, sc)
	case *compareExpr:
		left, err := r.eval(n.first, sc)
		if err != nil {
			return nil, err
		}
		for i, op := range n.ops {
			right, err := r.eval(n.rest[i], sc)
			if err != nil {
				return nil, err
			}
			ok, err := compare(op, left, right)
			if err != nil || !ok {
				return false, err
			}
			left = right
		}
		return true, nil
	case *condExpr:
		t, err := r.eval(n.test, sc)
		if err != nil {
			return nil, err
		}
		if truthy(t) {
			return r.eval(n.yes, sc)
		}
		if n.no == nil {
			return undefMsg("the inline if-expression evaluated to false and no else section was defined."), nil
		}
		return r.eval(n.no, sc)
	}
	return nil, &Error{Kind: "InternalError", Msg: "unknown expression"}
}

func (r *renderer) evalList(xs []expr, sc *scope) ([]any, error) {
	var out []any
	for _, x := range xs {
		v, err := r.eval(x, sc)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func boolToInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func negate(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return -boolToInt(x), nil
	case int64:
		if x == math.MinInt64 {
			return nil, &Error{Kind: "OverflowError", Msg: "integer overflow"}
		}
		return -x, nil
	case float64:
		return -x, nil
	case *undefinedValue:
		return nil, x.err()
	}
	return nil, typeErr("bad operand type for unary -: '%s'", typeName(v))
}

func (r *renderer) evalBinary(n *binExpr, sc *scope) (any, error) {
	left, err := r.eval(n.l, sc)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and":
		if !truthy(left) {
			return left, nil
		}
		return r.eval(n.r, sc)
	case "or":
		if truthy(left) {
			return left, nil
		}
		return r.eval(n.r, sc)
	}
	right, err := r.eval(n.r, sc)
	if err != nil {
		return nil, err
	}
	if n.op == "~" {
		a, err := toStr(left)
		if err != nil {
			return nil, err
		}
		b, err := toStr(right)
		if err != nil {
			return nil, err
		}
		return a + b, r.checkSize(len(a) + len(b))
	}
	if n.op == "*" {
		if err := r.checkRepeat(left, right); err != nil {
			return nil, err
		}
	}
	v, err := binaryOp(n.op, left, right)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case string:
		err = r.checkSize(len(x))
	case markup:
		err = r.checkSize(len(x))
	case []any:
		err = r.checkSize(len(x))
	}
	return v, err
}

// checkRepeat refuses a string or list repetition whose result would pass
// the size limit, before it is built.
func (r *renderer) checkRepeat(a, b any) error {
	if _, ok := a.(int64); ok {
		a, b = b, a
	}
	n, ok := b.(int64)
	if !ok || n <= 0 {
		return nil
	}
	size := 0
	switch x := plain(a).(type) {
	case string:
		size = len(x)
	case []any:
		size = len(x)
	default:
		return nil
	}
	if size > 0 && n > int64(r.maxOut/size) {
		return r.checkSize(-1)
	}
	return nil
}

func compare(op string, a, b any) (bool, error) {
	switch op {
	case "==":
		return pyEqual(a, b), nil
	case "!=":
		return !pyEqual(a, b), nil
	case "in":
		return contains(b, a)
	case "notin":
		ok, err := contains(b, a)
		return !ok, err
	}
	c, err := pyCompare(a, b, op)
	if err != nil {
		return false, err
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

// contains is Python's "item in container".
func contains(container, item any) (bool, error) {
	switch c := plain(container).(type) {
	case string:
		s, ok := strOf(item)
		if !ok {
			if u, isU := item.(*undefinedValue); isU {
				return false, u.err()
			}
			return false, typeErr("'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case *Dict:
		if _, ok := hashKey(item); !ok {
			return false, typeErr("unhashable type: '%s'", typeName(item))
		}
		_, ok := c.GetKey(item)
		return ok, nil
	case []any, Tuple, *generator, *undefinedValue, rangeValue, *dictView:
		items, _ := iterate(c)
		for _, it := range items {
			if pyEqual(it, item) {
				return true, nil
			}
		}
		return false, nil
	}
	return false, typeErr("argument of type '%s' is not iterable", typeName(container))
}

func (r *renderer) evalSlice(n *sliceExpr, sc *scope) (any, error) {
	obj, err := r.eval(n.obj, sc)
	if err != nil {
		return nil, err
	}
	var parts [3]any
	for i, x := range []expr{n.start, n.stop, n.step} {
		parts[i] = nil
		if x != nil {
			if parts[i], err = r.eval(x, sc); err != nil {
				return nil, err
			}
		}
	}
	v, err := sliceValue(obj, parts[0], parts[1], parts[2])
	// Folding a constant subscript that fails gives Undefined, as Jinja's
	// getitem does for type and lookup errors; a ValueError (a zero step)
	// stops the folding, so the template raises it when rendered.
	ve, isErr := err.(*Error)
	if err != nil && r.constMode && !(isErr && ve.Kind == "ValueError") {
		if u, isU := obj.(*undefinedValue); isU {
			return nil, u.err()
		}
		return undefAttr(obj, "slice"), nil
	}
	return v, err
}

// sliceIndices is Python's slice.indices(length).
func sliceIndices(start, stop, step any, length int) (int, int, int, error) {
	toInt := func(v any) (int, bool, error) {
		if v == nil {
			return 0, false, nil
		}
		i, _, isFloat, ok := asNumber(v)
		if !ok || isFloat {
			return 0, false, typeErr("slice indices must be integers or None or have an __index__ method")
		}
		if i > math.MaxInt32 {
			i = math.MaxInt32
		} else if i < math.MinInt32 {
			i = math.MinInt32
		}
		return int(i), true, nil
	}
	st, hasStep, err := toInt(step)
	if err != nil {
		return 0, 0, 0, err
	}
	if !hasStep {
		st = 1
	}
	if st == 0 {
		return 0, 0, 0, valueErr("slice step cannot be zero")
	}
	lo, hi := 0, length
	if st < 0 {
		lo, hi = -1, length-1
	}
	clamp := func(v any, def int) (int, error) {
		i, ok, err := toInt(v)
		if err != nil || !ok {
			return def, err
		}
		if i < 0 {
			i += length
			if i < lo {
				i = lo
			}
		} else if i > hi {
			i = hi
		}
		return i, nil
	}
	defStart, defStop := lo, hi
	if st < 0 {
		defStart, defStop = hi, lo
	}
	b, err := clamp(start, defStart)
	if err != nil {
		return 0, 0, 0, err
	}
	e, err := clamp(stop, defStop)
	return b, e, st, err
}

func sliceValue(obj, start, stop, step any) (any, error) {
	pick := func(n int) ([]int, error) {
		b, e, st, err := sliceIndices(start, stop, step, n)
		if err != nil {
			return nil, err
		}
		var idx []int
		for i := b; (st > 0 && i < e) || (st < 0 && i > e); i += st {
			idx = append(idx, i)
		}
		return idx, nil
	}
	if m, ok := obj.(markup); ok {
		v, err := sliceValue(string(m), start, stop, step)
		if s, ok := v.(string); ok {
			return markup(s), err
		}
		return v, err
	}
	switch x := obj.(type) {
	case string:
		runes := []rune(x)
		idx, err := pick(len(runes))
		if err != nil {
			return nil, err
		}
		out := make([]rune, len(idx))
		for i, j := range idx {
			out[i] = runes[j]
		}
		return string(out), nil
	case []any, Tuple:
		seq, _ := iterate(x)
		idx, err := pick(len(seq))
		if err != nil {
			return nil, err
		}
		out := make([]any, len(idx))
		for i, j := range idx {
			out[i] = seq[j]
		}
		if _, ok := x.(Tuple); ok {
			return Tuple(out), nil
		}
		return out, nil
	case rangeValue:
		return x.slice(start, stop, step)
	case *undefinedValue:
		return nil, x.err()
	case *Dict:
		return nil, typeErr("unhashable type: 'slice'")
	}
	return nil, typeErr("'%s' object is not subscriptable", typeName(obj))
}

// getAttr is Jinja's sandboxed obj.name: a Python attribute (method) first,
// then an item.
func getAttr(obj any, name string) (any, error) {
	if u, ok := obj.(*undefinedValue); ok {
		return nil, u.err()
	}
	if strings.HasPrefix(name, "_") {
		if d, ok := obj.(*Dict); ok {
			if v, ok := d.Get(name); ok {
				return v, nil
			}
		}
		return undefAttr(obj, name), nil
	}
	if m, found := method(obj, name); found {
		return m, nil
	}
	switch x := obj.(type) {
	case *Dict:
		if v, ok := x.Get(name); ok {
			return v, nil
		}
	case *namespace:
		if v, ok := x.d.Get(name); ok {
			return v, nil
		}
	case *loopContext:
		if v, ok := x.attr(name); ok {
			return v, nil
		}
	}
	return undefAttr(obj, name), nil
}

// getItem is Jinja's sandboxed obj[key]: an item first, then (for string
// keys) an attribute.
func getItem(obj, key any) (any, error) {
	switch x := obj.(type) {
	case *undefinedValue:
		return nil, x.err()
	case *Dict:
		if _, ok := hashKey(key); !ok {
			return nil, typeErr("unhashable type: '%s'", typeName(key))
		}
		if v, ok := x.GetKey(key); ok {
			return v, nil
		}
	case []any, Tuple, string, markup, rangeValue:
		if i, _, isFloat, ok := asNumber(key); ok && !isFloat {
			var n int
			var elem func(int) any
			switch s := x.(type) {
			case string:
				runes := []rune(s)
				n, elem = len(runes), func(j int) any { return string(runes[j]) }
			case markup:
				runes := []rune(string(s))
				n, elem = len(runes), func(j int) any { return markup(runes[j]) }
			default:
				seq, _ := iterate(s)
				n, elem = len(seq), func(j int) any { return seq[j] }
			}
			if i < 0 {
				i += int64(n)
			}
			if i >= 0 && i < int64(n) {
				return elem(int(i)), nil
			}
			return undefAttr(obj, key), nil
		}
	}
	if s, ok := strOf(key); ok {
		if u, ok := obj.(*undefinedValue); ok {
			return nil, u.err()
		}
		if m, found := method(obj, s); found {
			return m, nil
		}
		if lc, ok := obj.(*loopContext); ok {
			if v, ok := lc.attr(s); ok {
				return v, nil
			}
		}
	}
	return undefAttr(obj, key), nil
}

func (r *renderer) evalArgs(a argList, sc *scope) ([]any, *Dict, error) {
	args, err := r.evalList(a.pos, sc)
	if err != nil {
		return nil, nil, err
	}
	if a.star != nil {
		v, err := r.eval(a.star, sc)
		if err != nil {
			return nil, nil, err
		}
		more, err := iterate(v)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, more...)
	}
	var kw *Dict
	if len(a.kwNames) > 0 || a.starstar != nil {
		kw = NewDict()
	}
	for i, name := range a.kwNames {
		v, err := r.eval(a.kwVals[i], sc)
		if err != nil {
			return nil, nil, err
		}
		kw.Set(name, v)
	}
	if a.starstar != nil {
		v, err := r.eval(a.starstar, sc)
		if err != nil {
			return nil, nil, err
		}
		d, ok := v.(*Dict)
		if !ok {
			return nil, nil, typeErr("argument after ** must be a mapping, not %s", typeName(v))
		}
		for i, k := range d.keys {
			name, ok := strOf(k)
			if !ok {
				return nil, nil, typeErr("keywords must be strings")
			}
			kw.SetKey(name, d.vals[i])
		}
	}
	return args, kw, nil
}

func (r *renderer) evalCall(n *callExpr, sc *scope, caller *callable) (any, error) {
	fn, err := r.eval(n.fn, sc)
	if err != nil {
		return nil, err
	}
	args, kw, err := r.evalArgs(n.args, sc)
	if err != nil {
		return nil, err
	}
	if caller != nil {
		if kw == nil {
			kw = NewDict()
		}
		kw.Set("caller", caller)
	}
	return r.call(fn, args, kw)
}

func (r *renderer) call(fn any, args []any, kw *Dict) (any, error) {
	switch f := fn.(type) {
	case *callable:
		return f.fn(r, args, kw)
	case *undefinedValue:
		return nil, f.err()
	}
	return nil, typeErr("'%s' object is not callable", typeName(fn))
}

// utf8Len counts characters, as Python's len of a str does.
func utf8Len(s string) int { return utf8.RuneCountInString(s) }
