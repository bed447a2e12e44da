package chattmpl

import "strings"

// Jinja's optimizer folds constant expressions at compile time, and its
// constant evaluation looks items up through the sandbox's getitem, where a
// failed subscript (say a slice of a number) gives an undefined value
// instead of the TypeError the same subscript raises at run time. Folding
// therefore changes what some templates render; this pass reproduces it.

// contextFilters receive the render context in Jinja and are never folded.
var contextFilters = map[string]bool{"map": true, "select": true, "reject": true, "selectattr": true, "rejectattr": true}

type notConstError struct{}

func (notConstError) Error() string { return "not constant" }

// constValue evaluates e without variables; ok is false when e is not a
// constant or its evaluation fails.
func constValue(e expr) (any, bool) {
	var out strings.Builder
	r := &renderer{out: &out, maxSteps: 100_000, maxOut: 1 << 20, maxDepth: 200, constMode: true}
	v, err := r.eval(e, newScope(nil))
	return v, err == nil
}

// safeRepr mirrors Jinja's has_safe_repr: only plain data folds.
func safeRepr(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, rangeValue:
		return true
	case []any:
		return allSafe(x)
	case Tuple:
		return allSafe(x)
	case *Dict:
		return allSafe(x.keys) && allSafe(x.vals)
	}
	return false
}

func allSafe(xs []any) bool {
	for _, x := range xs {
		if !safeRepr(x) {
			return false
		}
	}
	return true
}

// foldExpr replaces the largest constant subexpressions of e by their
// values. In an output tag a constant expression is printed as evaluated
// even when its value (an undefined) could not be folded.
func foldExpr(e expr, output bool) expr {
	if e == nil {
		return nil
	}
	if _, isConst := e.(*constExpr); isConst {
		return e
	}
	if v, ok := constValue(e); ok && (output || safeRepr(v)) {
		return &constExpr{pos: pos{e.lineNo()}, v: v}
	}
	for _, child := range exprChildren(e) {
		*child = foldExpr(*child, false)
	}
	return e
}

func foldAll(xs []expr) {
	for i, x := range xs {
		xs[i] = foldExpr(x, false)
	}
}

func foldArgs(a *argList) {
	foldAll(a.pos)
	foldAll(a.kwVals)
	a.star, a.starstar = foldExpr(a.star, false), foldExpr(a.starstar, false)
}

// foldBody folds every expression of a statement list.
func foldBody(body []stmt) {
	for _, s := range body {
		switch n := s.(type) {
		case *outputStmt:
			n.x = foldExpr(n.x, true)
		case *ifStmt:
			foldAll(n.conds)
			for _, b := range n.bodies {
				foldBody(b)
			}
			foldBody(n.els)
		case *forStmt:
			n.iter, n.cond = foldExpr(n.iter, false), foldExpr(n.cond, false)
			foldBody(n.body)
			foldBody(n.els)
		case *setStmt:
			n.x = foldExpr(n.x, false)
		case *setBlockStmt:
			foldFilters(n.filters)
			foldBody(n.body)
		case *macroStmt:
			foldAll(n.m.defaults)
			foldBody(n.m.body)
		case *callBlockStmt:
			n.call.fn = foldExpr(n.call.fn, false)
			foldArgs(&n.call.args)
			foldAll(n.caller.defaults)
			foldBody(n.caller.body)
		case *filterBlockStmt:
			foldFilters(n.filters)
			foldBody(n.body)
		case *withStmt:
			foldAll(n.vals)
			foldBody(n.body)
		}
	}
}

func foldFilters(fs []*filterExpr) {
	for _, f := range fs {
		foldArgs(&f.args)
	}
}
