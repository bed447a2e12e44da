package chattmpl

// Expressions. Every node records the template line it starts on.
type expr interface{ lineNo() int }

type pos struct{ line int }

func (p pos) lineNo() int { return p.line }

type constExpr struct {
	pos
	v any
}

type nameExpr struct {
	pos
	name string
}

type listExpr struct {
	pos
	items []expr
}

type tupleExpr struct {
	pos
	items []expr
}

type dictExpr struct {
	pos
	keys, vals []expr
}

type getattrExpr struct {
	pos
	obj  expr
	name string
}

type getitemExpr struct {
	pos
	obj, key expr
}

// sliceExpr is obj[start:stop:step]; absent parts are nil.
type sliceExpr struct {
	pos
	obj, start, stop, step expr
}

// argList is the argument list of a call, filter or test.
type argList struct {
	pos      []expr
	kwNames  []string
	kwVals   []expr
	star     expr // *args
	starstar expr // **kwargs
}

type callExpr struct {
	pos
	fn   expr
	args argList
}

// filterExpr applies a filter; node is nil in filter blocks and block sets,
// where the filtered value is the rendered body.
type filterExpr struct {
	pos
	node expr
	name string
	args argList
}

type testExpr struct {
	pos
	node expr
	name string
	args argList
}

type unaryExpr struct {
	pos
	op string // "-", "+", "not"
	x  expr
}

type binExpr struct {
	pos
	op   string // + - * / // % ** ~ and or
	l, r expr
}

// compareExpr is a (possibly chained) comparison: a < b <= c.
type compareExpr struct {
	pos
	first expr
	ops   []string // == != < <= > >= in notin
	rest  []expr
}

type condExpr struct {
	pos
	test, yes, no expr // no may be nil
}

// Statements.
type stmt interface{}

type textStmt struct{ text string }

type outputStmt struct {
	pos
	x expr
}

type ifStmt struct {
	pos
	conds  []expr
	bodies [][]stmt
	els    []stmt
}

// target is the left side of set/for: one name, a tuple of names, or a
// namespace attribute (ns.attr).
type target struct {
	names []string
	tuple bool
	attr  string // set for namespace targets: names[0].attr
}

type forStmt struct {
	pos
	tgt       target
	iter      expr
	cond      expr
	body, els []stmt
	recursive bool
	// names that start undefined in the body and else frames (see scope.go)
	bodyUndef, elseUndef []string
}

type setStmt struct {
	pos
	tgt target
	x   expr
}

type setBlockStmt struct {
	pos
	tgt     target
	filters []*filterExpr
	body    []stmt
	undef   []string
}

type macroDef struct {
	pos
	name     string
	params   []string
	defaults []expr // defaults of the last len(defaults) params
	body     []stmt
	undef    []string
}

type macroStmt struct{ m *macroDef }

type callBlockStmt struct {
	pos
	call   *callExpr
	caller *macroDef
}

type filterBlockStmt struct {
	pos
	filters []*filterExpr
	body    []stmt
	undef   []string
}

type breakStmt struct{ pos }

type continueStmt struct{ pos }

// withStmt is {% with a = 1 %}...{% endwith %}: assignments in a new scope.
type withStmt struct {
	pos
	tgts  []target
	vals  []expr
	body  []stmt
	undef []string
}

// exprChildren returns pointers to the sub-expressions of e in evaluation
// order (absent optional parts are nil), for passes that read or rewrite
// the tree.
func exprChildren(e expr) []*expr {
	var out []*expr
	each := func(xs []expr) {
		for i := range xs {
			out = append(out, &xs[i])
		}
	}
	args := func(a *argList) {
		each(a.pos)
		each(a.kwVals)
		out = append(out, &a.star, &a.starstar)
	}
	switch n := e.(type) {
	case *listExpr:
		each(n.items)
	case *tupleExpr:
		each(n.items)
	case *dictExpr:
		for i := range n.keys {
			out = append(out, &n.keys[i], &n.vals[i])
		}
	case *getattrExpr:
		out = append(out, &n.obj)
	case *getitemExpr:
		out = append(out, &n.obj, &n.key)
	case *sliceExpr:
		out = append(out, &n.obj, &n.start, &n.stop, &n.step)
	case *callExpr:
		out = append(out, &n.fn)
		args(&n.args)
	case *filterExpr:
		out = append(out, &n.node)
		args(&n.args)
	case *testExpr:
		out = append(out, &n.node)
		args(&n.args)
	case *unaryExpr:
		out = append(out, &n.x)
	case *binExpr:
		out = append(out, &n.l, &n.r)
	case *compareExpr:
		out = append(out, &n.first)
		each(n.rest)
	case *condExpr:
		out = append(out, &n.test, &n.yes, &n.no)
	}
	return out
}
