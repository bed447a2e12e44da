package chattmpl

// Jinja compiles every frame (the template, a loop body, a macro, a block
// set, ...) into a function whose variables are resolved at compile time.
// A name that a frame assigns unconditionally, and neither reads before
// nor finds in an enclosing frame, starts out undefined in that frame: a
// loop or macro running before the assignment sees undefined, not the
// render variable of the same name. This pass computes those names per
// frame; the renderer binds them to undefined on entering the frame.

type symKind int

const (
	symResolve   symKind = iota // read from the enclosing frames or the context
	symUndefined                // starts undefined in this frame
)

// frameSymbols tracks the references of one frame in source order.
type frameSymbols struct {
	refs      map[string]symKind
	stores    map[string]bool
	ancestors map[string]bool // names the enclosing frames reference
}

func (s *frameSymbols) copyFrame() *frameSymbols {
	c := &frameSymbols{refs: map[string]symKind{}, stores: map[string]bool{}, ancestors: s.ancestors}
	for k, v := range s.refs {
		c.refs[k] = v
	}
	for k := range s.stores {
		c.stores[k] = true
	}
	return c
}

func (s *frameSymbols) load(name string) {
	if _, ok := s.refs[name]; !ok && !s.ancestors[name] {
		s.refs[name] = symResolve
	}
}

func (s *frameSymbols) store(name string) {
	s.stores[name] = true
	if _, ok := s.refs[name]; ok {
		return
	}
	if s.ancestors[name] {
		s.refs[name] = symResolve // an alias of the enclosing frame's variable
		return
	}
	s.refs[name] = symUndefined
}

func (s *frameSymbols) storeTarget(t target) {
	if t.attr != "" {
		s.load(t.names[0])
		return
	}
	for _, n := range t.names {
		s.store(n)
	}
}

// loadExpr records the names an expression reads, in evaluation order.
func (s *frameSymbols) loadExpr(e expr) {
	if n, ok := e.(*nameExpr); ok {
		s.load(n.name)
		return
	}
	for _, child := range exprChildren(e) {
		if *child != nil {
			s.loadExpr(*child)
		}
	}
}

func (s *frameSymbols) loadAll(xs []expr) {
	for _, x := range xs {
		if x != nil {
			s.loadExpr(x)
		}
	}
}

func (s *frameSymbols) loadArgs(a argList) {
	s.loadAll(a.pos)
	s.loadAll(a.kwVals)
	s.loadAll([]expr{a.star, a.starstar})
}

// visit records the direct references of statements; nested frames (loop
// bodies, macros, block bodies) only contribute what their tag evaluates
// in this frame.
func (s *frameSymbols) visit(body []stmt) {
	for _, st := range body {
		switch n := st.(type) {
		case *outputStmt:
			s.loadExpr(n.x)
		case *ifStmt:
			s.visitIf(n.conds, n.bodies, n.els)
		case *forStmt:
			s.loadExpr(n.iter)
		case *setStmt:
			s.loadExpr(n.x)
			s.storeTarget(n.tgt)
		case *setBlockStmt:
			s.storeTarget(n.tgt)
		case *macroStmt:
			s.store(n.m.name)
		case *callBlockStmt:
			s.loadExpr(n.call.fn)
			s.loadArgs(n.call.args)
		case *filterBlockStmt:
			for _, f := range n.filters {
				s.loadArgs(f.args)
			}
		case *withStmt:
			s.loadAll(n.vals)
		}
	}
}

// visitIf analyses the branches of an if separately, as Jinja does: the
// body, the elif chain (each elif an if of its own) and the else. A name
// assigned in only some branches is read from the enclosing frames until
// assigned.
func (s *frameSymbols) visitIf(conds []expr, bodies [][]stmt, els []stmt) {
	s.loadExpr(conds[0])
	body, elifs, other := s.copyFrame(), s.copyFrame(), s.copyFrame()
	body.visit(bodies[0])
	for i := 1; i < len(conds); i++ {
		elifs.visitIf(conds[i:i+1], bodies[i:i+1], nil)
	}
	other.visit(els)
	branches := []*frameSymbols{body, elifs, other}
	count := map[string]int{}
	for _, b := range branches {
		for name := range b.stores {
			if !s.stores[name] {
				count[name]++
			}
		}
	}
	for _, b := range branches {
		for k, v := range b.refs {
			s.refs[k] = v
		}
		for k := range b.stores {
			s.stores[k] = true
		}
	}
	for name, n := range count {
		if n != len(branches) {
			s.refs[name] = symResolve
		}
	}
}

// analyzeFrame computes the undefined-at-entry names of a frame and of
// every frame nested in it.
func analyzeFrame(body []stmt, params []string, loads []expr, ancestors map[string]bool) []string {
	s := &frameSymbols{refs: map[string]symKind{}, stores: map[string]bool{}, ancestors: ancestors}
	for _, p := range params {
		s.refs[p] = symResolve
	}
	s.loadAll(loads)
	s.visit(body)
	var undef []string
	inner := map[string]bool{}
	for k := range ancestors {
		inner[k] = true
	}
	for k, kind := range s.refs {
		inner[k] = true
		if kind == symUndefined {
			undef = append(undef, k)
		}
	}
	analyzeChildren(body, inner)
	return undef
}

func analyzeChildren(body []stmt, ancestors map[string]bool) {
	for _, st := range body {
		switch n := st.(type) {
		case *ifStmt:
			for _, b := range n.bodies {
				analyzeChildren(b, ancestors)
			}
			analyzeChildren(n.els, ancestors)
		case *forStmt:
			n.bodyUndef = analyzeFrame(n.body, append(append([]string{}, n.tgt.names...), "loop"), []expr{n.cond}, ancestors)
			n.elseUndef = analyzeFrame(n.els, nil, nil, ancestors)
		case *setBlockStmt:
			n.undef = analyzeFrame(n.body, nil, nil, ancestors)
		case *macroStmt:
			n.m.undef = analyzeFrame(n.m.body, append(append([]string{}, n.m.params...), "caller", "varargs", "kwargs"), n.m.defaults, ancestors)
		case *callBlockStmt:
			n.caller.undef = analyzeFrame(n.caller.body, append(append([]string{}, n.caller.params...), "caller", "varargs", "kwargs"), n.caller.defaults, ancestors)
		case *filterBlockStmt:
			n.undef = analyzeFrame(n.body, nil, nil, ancestors)
		case *withStmt:
			var params []string
			for _, t := range n.tgts {
				params = append(params, t.names...)
			}
			n.undef = analyzeFrame(n.body, params, nil, ancestors)
		}
	}
}

// enterFrame binds a frame's undefined-at-entry names in its scope.
func enterFrame(sc *scope, undef []string) {
	for _, name := range undef {
		if _, ok := sc.vars[name]; !ok {
			sc.vars[name] = undefName(name)
		}
	}
}
