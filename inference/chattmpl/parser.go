package chattmpl

import (
	"fmt"
	"strings"
)

// maxParseDepth bounds the nesting of expressions and blocks, so that
// hostile input cannot exhaust the stack.
const maxParseDepth = 200

// parser builds the AST with Jinja's grammar and operator precedence.
type parser struct {
	toks  []token
	p     int
	depth int
	soft  bool // inside an if or conditional expression (unknown filters fail only when reached)
	loops int  // enclosing for loops (break/continue are only valid inside one)
}

func (p *parser) cur() token { return p.toks[p.p] }

func (p *parser) look() token {
	if p.p+1 < len(p.toks) {
		return p.toks[p.p+1]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.p]
	if p.p < len(p.toks)-1 {
		p.p++
	}
	return t
}

func (p *parser) isOp(op string) bool {
	t := p.cur()
	return t.kind == tOp && t.val == op
}

func (p *parser) isName(name string) bool {
	t := p.cur()
	return t.kind == tName && t.val == name
}

func (p *parser) skipOp(op string) bool {
	if p.isOp(op) {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipName(name string) bool {
	if p.isName(name) {
		p.next()
		return true
	}
	return false
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of template"
	case tBlockEnd:
		return "end of statement block"
	case tVarEnd:
		return "end of print statement"
	case tBlockBegin:
		return "begin of statement block"
	case tVarBegin:
		return "begin of print statement"
	case tString:
		return "string " + quoteStr(t.val)
	case tData:
		return "template data"
	}
	return "'" + t.val + "'"
}

func (p *parser) fail(format string, args ...any) error {
	return syntaxErr(p.cur().line, format, args...)
}

func (p *parser) expectOp(op string) error {
	if !p.skipOp(op) {
		return p.fail("expected '%s', got %s", op, describe(p.cur()))
	}
	return nil
}

func (p *parser) expectKind(k tokKind, what string) (token, error) {
	if p.cur().kind != k {
		return token{}, p.fail("expected %s, got %s", what, describe(p.cur()))
	}
	return p.next(), nil
}

func (p *parser) expectName() (string, error) {
	t, err := p.expectKind(tName, "name")
	return t.val, err
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxParseDepth {
		return p.fail("template nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseTemplate parses a whole template.
func parseTemplate(toks []token) ([]stmt, error) {
	p := &parser{toks: toks}
	body, err := p.subparse(nil)
	if err != nil {
		return nil, err
	}
	if p.cur().kind != tEOF {
		return nil, p.fail("unexpected %s", describe(p.cur()))
	}
	return body, nil
}

// subparse parses statements until one of the end tags (left unconsumed,
// positioned at its name) or the end of the template.
func (p *parser) subparse(endTags []string) ([]stmt, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var body []stmt
	for {
		t := p.cur()
		switch t.kind {
		case tEOF:
			if endTags != nil {
				return nil, p.fail("unexpected end of template, expected one of %s", strings.Join(endTags, ", "))
			}
			return body, nil
		case tData:
			p.next()
			body = append(body, &textStmt{text: t.val})
		case tVarBegin:
			p.next()
			x, err := p.parseTuple(true, nil, false)
			if err != nil {
				return nil, err
			}
			if _, err := p.expectKind(tVarEnd, "end of print statement"); err != nil {
				return nil, err
			}
			body = append(body, &outputStmt{pos: pos{t.line}, x: x})
		case tBlockBegin:
			p.next()
			if p.cur().kind == tName {
				for _, e := range endTags {
					if p.cur().val == e {
						return body, nil
					}
				}
			}
			s, err := p.parseStatement(endTags)
			if err != nil {
				return nil, err
			}
			if s != nil {
				body = append(body, s)
			}
			if _, err := p.expectKind(tBlockEnd, "end of statement block"); err != nil {
				return nil, err
			}
		default:
			return nil, p.fail("unexpected %s", describe(t))
		}
	}
}

// parseBlockBody expects the end of the opening tag and parses the body up
// to one of endTags, returning the tag found (its name consumed).
func (p *parser) parseBlockBody(endTags ...string) ([]stmt, string, error) {
	if _, err := p.expectKind(tBlockEnd, "end of statement block"); err != nil {
		return nil, "", err
	}
	body, err := p.subparse(endTags)
	if err != nil {
		return nil, "", err
	}
	return body, p.next().val, nil
}

func (p *parser) parseStatement(outerEnd []string) (stmt, error) {
	t := p.cur()
	if t.kind != tName {
		return nil, p.fail("tag name expected")
	}
	line := t.line
	p.next()
	switch t.val {
	case "if":
		return p.parseIf(line)
	case "for":
		return p.parseFor(line)
	case "set":
		return p.parseSet(line)
	case "macro":
		return p.parseMacro(line)
	case "call":
		return p.parseCallBlock(line)
	case "filter":
		return p.parseFilterBlock(line)
	case "with":
		return p.parseWith(line)
	case "generation":
		body, _, err := p.parseBlockBody("endgeneration")
		if err != nil {
			return nil, err
		}
		return &withStmt{pos: pos{line}, body: body}, nil
	case "break", "continue":
		if p.loops == 0 {
			return nil, syntaxErr(line, "'%s' outside loop", t.val)
		}
		if t.val == "break" {
			return &breakStmt{pos{line}}, nil
		}
		return &continueStmt{pos{line}}, nil
	}
	msg := fmt.Sprintf("encountered unknown tag '%s'", t.val)
	if len(outerEnd) > 0 {
		msg += fmt.Sprintf("; the innermost block that needs to be closed expects one of %s", strings.Join(outerEnd, ", "))
	}
	return nil, syntaxErr(line, "%s", msg)
}

func (p *parser) parseIf(line int) (stmt, error) {
	n := &ifStmt{pos: pos{line}}
	saved := p.soft
	p.soft = true
	defer func() { p.soft = saved }()
	for {
		cond, err := p.parseTuple(false, nil, false)
		if err != nil {
			return nil, err
		}
		body, end, err := p.parseBlockBody("elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			els, _, err := p.parseBlockBody("endif")
			if err != nil {
				return nil, err
			}
			n.els = els
		}
		return n, nil
	}
}

func (p *parser) parseFor(line int) (stmt, error) {
	n := &forStmt{pos: pos{line}}
	tgt, err := p.parseAssignTarget(false, []string{"in"})
	if err != nil {
		return nil, err
	}
	n.tgt = tgt
	if !p.skipName("in") {
		return nil, p.fail("expected 'in', got %s", describe(p.cur()))
	}
	if n.iter, err = p.parseTuple(false, []string{"recursive"}, false); err != nil {
		return nil, err
	}
	saved := p.soft
	p.soft = false
	defer func() { p.soft = saved }()
	if p.skipName("if") {
		if n.cond, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	if p.skipName("recursive") {
		return nil, syntaxErr(line, "recursive for loops are not supported")
	}
	p.loops++
	body, end, err := p.parseBlockBody("endfor", "else")
	p.loops--
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		// the else block runs outside the loop: break is not allowed there
		savedLoops := p.loops
		p.loops = 0
		n.els, _, err = p.parseBlockBody("endfor")
		p.loops = savedLoops
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) parseSet(line int) (stmt, error) {
	tgt, err := p.parseAssignTarget(true, nil)
	if err != nil {
		return nil, err
	}
	if p.skipOp("=") {
		x, err := p.parseTuple(true, nil, false)
		if err != nil {
			return nil, err
		}
		return &setStmt{pos: pos{line}, tgt: tgt, x: x}, nil
	}
	n := &setBlockStmt{pos: pos{line}, tgt: tgt}
	saved := p.soft
	p.soft = false
	defer func() { p.soft = saved }()
	for p.isOp("|") {
		p.next()
		f, err := p.parseOneFilter(nil)
		if err != nil {
			return nil, err
		}
		n.filters = append(n.filters, f)
	}
	n.body, _, err = p.parseBlockBody("endset")
	return n, err
}

// parseAssignTarget parses a name, a tuple of names, or (for set) ns.attr.
func (p *parser) parseAssignTarget(withNamespace bool, extraEnd []string) (target, error) {
	if withNamespace && p.cur().kind == tName && p.look().kind == tOp && p.look().val == "." {
		name := p.next().val
		p.next()
		attr, err := p.expectName()
		if err != nil {
			return target{}, err
		}
		return target{names: []string{name}, attr: attr}, nil
	}
	var tgt target
	paren := p.skipOp("(")
	for {
		if len(tgt.names) > 0 {
			if !p.skipOp(",") {
				break
			}
			tgt.tuple = true
			if p.cur().kind != tName || (!paren && containsStr(extraEnd, p.cur().val)) {
				break
			}
		}
		t := p.cur()
		if t.kind != tName {
			return target{}, p.fail("can't assign to %s", describe(t))
		}
		switch t.val {
		case "true", "false", "none", "True", "False", "None":
			return target{}, p.fail("can't assign to constant '%s'", t.val)
		}
		p.next()
		tgt.names = append(tgt.names, t.val)
	}
	if paren {
		tgt.tuple = true
		if err := p.expectOp(")"); err != nil {
			return target{}, err
		}
	}
	return tgt, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseSignature parses "(a, b=default, ...)" of a macro or call block.
func (p *parser) parseSignature(m *macroDef) error {
	if err := p.expectOp("("); err != nil {
		return err
	}
	return p.parseCommaList(")", func() error {
		name, err := p.expectName()
		if err != nil {
			return err
		}
		m.params = append(m.params, name)
		if p.skipOp("=") {
			d, err := p.parseExpression(true)
			m.defaults = append(m.defaults, d)
			return err
		} else if len(m.defaults) > 0 {
			return p.fail("non-default argument follows default argument")
		}
		return nil
	})
}

// inFunction parses a macro or caller body, where loops and soft frames of
// the surroundings do not apply.
func (p *parser) inFunction(fn func() error) error {
	savedLoops, savedSoft := p.loops, p.soft
	p.loops, p.soft = 0, false
	err := fn()
	p.loops, p.soft = savedLoops, savedSoft
	return err
}

func (p *parser) parseMacro(line int) (stmt, error) {
	m := &macroDef{pos: pos{line}}
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	m.name = name
	if err := p.parseSignature(m); err != nil {
		return nil, err
	}
	err = p.inFunction(func() error {
		var err error
		m.body, _, err = p.parseBlockBody("endmacro")
		return err
	})
	return &macroStmt{m: m}, err
}

func (p *parser) parseCallBlock(line int) (stmt, error) {
	caller := &macroDef{pos: pos{line}, name: "caller"}
	if p.isOp("(") {
		if err := p.parseSignature(caller); err != nil {
			return nil, err
		}
	}
	x, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	call, ok := x.(*callExpr)
	if !ok {
		return nil, syntaxErr(line, "expected call")
	}
	err = p.inFunction(func() error {
		var err error
		caller.body, _, err = p.parseBlockBody("endcall")
		return err
	})
	return &callBlockStmt{pos: pos{line}, call: call, caller: caller}, err
}

func (p *parser) parseFilterBlock(line int) (stmt, error) {
	n := &filterBlockStmt{pos: pos{line}}
	saved := p.soft
	p.soft = false
	defer func() { p.soft = saved }()
	for first := true; first || p.isOp("|"); first = false {
		if !first {
			p.next()
		}
		f, err := p.parseOneFilter(nil)
		if err != nil {
			return nil, err
		}
		n.filters = append(n.filters, f)
	}
	var err error
	n.body, _, err = p.parseBlockBody("endfilter")
	return n, err
}

func (p *parser) parseWith(line int) (stmt, error) {
	n := &withStmt{pos: pos{line}}
	for p.cur().kind != tBlockEnd {
		if len(n.tgts) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		tgt, err := p.parseAssignTarget(false, nil)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		n.tgts = append(n.tgts, tgt)
		n.vals = append(n.vals, v)
	}
	var err error
	n.body, _, err = p.parseBlockBody("endwith")
	return n, err
}

// parseCommaList parses items separated by commas up to the closing
// operator (consumed), allowing a trailing comma.
func (p *parser) parseCommaList(closeOp string, item func() error) error {
	for first := true; !p.isOp(closeOp); first = false {
		if !first {
			if err := p.expectOp(","); err != nil {
				return err
			}
			if p.isOp(closeOp) {
				break
			}
		}
		if p.cur().kind == tEOF {
			return p.fail("unexpected end of template, expected '%s'", closeOp)
		}
		if err := item(); err != nil {
			return err
		}
	}
	p.next()
	return nil
}

// Expressions.

func (p *parser) isTupleEnd(extraEnd []string) bool {
	t := p.cur()
	switch t.kind {
	case tVarEnd, tBlockEnd, tEOF:
		return true
	case tOp:
		return t.val == ")"
	case tName:
		return containsStr(extraEnd, t.val)
	}
	return false
}

// parseTuple parses an expression or a comma-separated tuple of them.
func (p *parser) parseTuple(withCond bool, extraEnd []string, explicitParens bool) (expr, error) {
	line := p.cur().line
	var items []expr
	isTuple := false
	for {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		x, err := p.parseExpression(withCond)
		if err != nil {
			return nil, err
		}
		items = append(items, x)
		if p.isOp(",") {
			isTuple = true
		} else {
			break
		}
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, p.fail("expected an expression, got %s", describe(p.cur()))
		}
	}
	return &tupleExpr{pos: pos{line}, items: items}, nil
}

func (p *parser) parseExpression(withCond bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if withCond {
		return p.parseCondExpr()
	}
	return p.parseOr()
}

func (p *parser) parseCondExpr() (expr, error) {
	line := p.cur().line
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.skipName("if") {
		saved := p.soft
		p.soft = true
		n := &condExpr{pos: pos{line}, yes: x}
		n.test, err = p.parseOr()
		if err == nil && p.skipName("else") {
			n.no, err = p.parseCondExpr()
		}
		p.soft = saved
		if err != nil {
			return nil, err
		}
		x = n
	}
	return x, nil
}

func (p *parser) parseOr() (expr, error) {
	return p.parseBinaryLevel([]string{"or"}, true, p.parseAnd)
}

func (p *parser) parseAnd() (expr, error) {
	return p.parseBinaryLevel([]string{"and"}, true, p.parseNot)
}

// parseBinaryLevel parses a left-associative chain of operators (names such
// as "and" when named is set, symbols otherwise).
func (p *parser) parseBinaryLevel(ops []string, named bool, next func() (expr, error)) (expr, error) {
	line := p.cur().line
	x, err := next()
	if err != nil {
		return nil, err
	}
	for {
		t := p.cur()
		if (named && t.kind != tName) || (!named && t.kind != tOp) || !containsStr(ops, t.val) {
			return x, nil
		}
		p.next()
		y, err := next()
		if err != nil {
			return nil, err
		}
		x = &binExpr{pos: pos{line}, op: t.val, l: x, r: y}
	}
}

func (p *parser) parseNot() (expr, error) {
	if p.isName("not") {
		line := p.next().line
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: pos{line}, op: "not", x: x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	line := p.cur().line
	x, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	n := &compareExpr{pos: pos{line}, first: x}
	for {
		t := p.cur()
		var op string
		switch {
		case t.kind == tOp && containsStr([]string{"==", "!=", "<", "<=", ">", ">="}, t.val):
			op = t.val
			p.next()
		case p.isName("in"):
			op = "in"
			p.next()
		case p.isName("not") && p.look().kind == tName && p.look().val == "in":
			op = "notin"
			p.next()
			p.next()
		}
		if op == "" {
			break
		}
		y, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		n.ops = append(n.ops, op)
		n.rest = append(n.rest, y)
	}
	if len(n.ops) == 0 {
		return x, nil
	}
	return n, nil
}

func (p *parser) parseMath1() (expr, error) {
	return p.parseBinaryLevel([]string{"+", "-"}, false, p.parseConcat)
}

func (p *parser) parseConcat() (expr, error) {
	return p.parseBinaryLevel([]string{"~"}, false, p.parseMath2)
}

func (p *parser) parseMath2() (expr, error) {
	return p.parseBinaryLevel([]string{"*", "/", "//", "%"}, false, p.parsePow)
}

func (p *parser) parsePow() (expr, error) {
	return p.parseBinaryLevel([]string{"**"}, false, func() (expr, error) { return p.parseUnary(true) })
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.cur()
	var x expr
	var err error
	if t.kind == tOp && (t.val == "-" || t.val == "+") {
		p.next()
		inner, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		x = &unaryExpr{pos: pos{t.line}, op: t.val, x: inner}
	} else if x, err = p.parsePrimary(); err != nil {
		return nil, err
	}
	if x, err = p.parsePostfix(x); err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilterExpr(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.cur()
	at := pos{t.line}
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &constExpr{at, true}, nil
		case "false", "False":
			return &constExpr{at, false}, nil
		case "none", "None":
			return &constExpr{at, nil}, nil
		}
		return &nameExpr{at, t.val}, nil
	case tString:
		p.next()
		s := t.val
		for p.cur().kind == tString {
			s += p.next().val
		}
		return &constExpr{at, s}, nil
	case tInt:
		p.next()
		return &constExpr{at, t.ival}, nil
	case tFloat:
		p.next()
		return &constExpr{at, t.fval}, nil
	case tOp:
		switch t.val {
		case "(":
			p.next()
			x, err := p.parseTuple(true, nil, true)
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			p.next()
			n := &listExpr{pos: at}
			err := p.parseCommaList("]", func() error {
				x, err := p.parseExpression(true)
				n.items = append(n.items, x)
				return err
			})
			return n, err
		case "{":
			p.next()
			n := &dictExpr{pos: at}
			err := p.parseCommaList("}", func() error {
				k, err := p.parseExpression(true)
				if err != nil {
					return err
				}
				if err := p.expectOp(":"); err != nil {
					return err
				}
				v, err := p.parseExpression(true)
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
				return err
			})
			return n, err
		}
	}
	return nil, p.fail("unexpected %s", describe(t))
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp(".") || p.isOp("["):
			x, err = p.parseSubscript(x)
		case p.isOp("("):
			x, err = p.parseCall(x)
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseFilterExpr(x expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp("|"):
			p.next()
			x, err = p.parseOneFilter(x)
		case p.isName("is"):
			x, err = p.parseTest(x)
		case p.isOp("("):
			x, err = p.parseCall(x)
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseSubscript(x expr) (expr, error) {
	t := p.next()
	at := pos{t.line}
	if t.val == "." {
		a := p.cur()
		switch a.kind {
		case tName:
			p.next()
			return &getattrExpr{at, x, a.val}, nil
		case tInt:
			p.next()
			return &getitemExpr{at, x, &constExpr{at, a.ival}}, nil
		}
		return nil, p.fail("expected name or number")
	}
	var args []expr
	err := p.parseCommaList("]", func() error {
		a, err := p.parseSubscribed(x)
		args = append(args, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	switch len(args) {
	case 0:
		return nil, p.fail("expected subscript expression")
	case 1:
		if s, ok := args[0].(*sliceExpr); ok {
			return s, nil
		}
		return &getitemExpr{at, x, args[0]}, nil
	}
	for _, a := range args {
		if _, ok := a.(*sliceExpr); ok {
			return nil, p.fail("slices inside tuples are not supported")
		}
	}
	return &getitemExpr{at, x, &tupleExpr{at, args}}, nil
}

// parseSubscribed parses one subscript: an expression or a slice.
func (p *parser) parseSubscribed(obj expr) (expr, error) {
	line := p.cur().line
	s := &sliceExpr{pos: pos{line}, obj: obj}
	if !p.isOp(":") {
		x, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if !p.isOp(":") {
			return x, nil
		}
		s.start = x
	}
	p.next()
	optional := func() (expr, error) {
		if p.isOp("]") || p.isOp(",") || p.isOp(":") {
			return nil, nil
		}
		return p.parseExpression(true)
	}
	var err error
	if s.stop, err = optional(); err != nil {
		return nil, err
	}
	if p.skipOp(":") {
		if s.step, err = optional(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) parseArgs() (argList, error) {
	var a argList
	if err := p.expectOp("("); err != nil {
		return a, err
	}
	err := p.parseCommaList(")", func() error {
		switch {
		case p.isOp("*") || p.isOp("**"):
			star := p.next().val
			x, err := p.parseExpression(true)
			if star == "*" {
				a.star = x
			} else {
				a.starstar = x
			}
			return err
		case p.cur().kind == tName && p.look().kind == tOp && p.look().val == "=":
			name := p.next().val
			p.next()
			if a.starstar != nil {
				return p.fail("invalid argument syntax")
			}
			x, err := p.parseExpression(true)
			a.kwNames = append(a.kwNames, name)
			a.kwVals = append(a.kwVals, x)
			return err
		}
		if a.star != nil || a.starstar != nil || len(a.kwNames) > 0 {
			return p.fail("invalid argument syntax")
		}
		x, err := p.parseExpression(true)
		a.pos = append(a.pos, x)
		return err
	})
	return a, err
}

func (p *parser) parseCall(fn expr) (expr, error) {
	line := p.cur().line
	args, err := p.parseArgs()
	if err != nil {
		return nil, err
	}
	return &callExpr{pos{line}, fn, args}, nil
}

func (p *parser) parseDottedName() (string, error) {
	name, err := p.expectName()
	if err != nil {
		return "", err
	}
	for p.isOp(".") {
		p.next()
		part, err := p.expectName()
		if err != nil {
			return "", err
		}
		name += "." + part
	}
	return name, nil
}

func (p *parser) parseOneFilter(x expr) (*filterExpr, error) {
	line := p.cur().line
	name, err := p.parseDottedName()
	if err != nil {
		return nil, err
	}
	if _, ok := filters[name]; !ok && !p.soft {
		return nil, syntaxErr(line, "no filter named '%s'", name)
	}
	f := &filterExpr{pos: pos{line}, node: x, name: name}
	if p.isOp("(") {
		if f.args, err = p.parseArgs(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (p *parser) parseTest(x expr) (expr, error) {
	line := p.next().line // "is"
	negated := p.skipName("not")
	name, err := p.parseDottedName()
	if err != nil {
		return nil, err
	}
	if _, ok := tests[name]; !ok && !p.soft {
		return nil, syntaxErr(line, "no test named '%s'", name)
	}
	n := &testExpr{pos: pos{line}, node: x, name: name}
	t := p.cur()
	switch {
	case p.isOp("("):
		if n.args, err = p.parseArgs(); err != nil {
			return nil, err
		}
	case t.kind == tName || t.kind == tString || t.kind == tInt || t.kind == tFloat || p.isOp("[") || p.isOp("{"):
		if t.kind == tName && (t.val == "else" || t.val == "or" || t.val == "and") {
			break
		}
		if t.kind == tName && t.val == "is" {
			return nil, p.fail("you cannot chain multiple tests with is")
		}
		arg, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		if arg, err = p.parsePostfix(arg); err != nil {
			return nil, err
		}
		n.args.pos = []expr{arg}
	}
	if negated {
		return &unaryExpr{pos: pos{line}, op: "not", x: n}, nil
	}
	return n, nil
}
