package chattmpl

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tData
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInt
	tFloat
	tOp
)

type token struct {
	kind tokKind
	val  string // text of data, names, operators and (unescaped) strings
	line int
	ival int64
	fval float64
}

// operators, longest first so that "//" wins over "/".
var operators = []string{
	"//", "**", "==", "!=", ">=", "<=",
	"+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
	">", "<", "=", ".", ":", "|", ",", ";",
}

// lexer splits a template into data and tag tokens the way Jinja's lexer
// does with trim_blocks and lstrip_blocks enabled.
type lexer struct {
	src          string
	pos          int
	line         int
	lineStarting bool // the previous token ended with a newline
	toks         []token
}

// normalizeSource turns every newline sequence into "\n" and drops one
// trailing newline, as Jinja does with keep_trailing_newline=False.
func normalizeSource(src string) string {
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	return strings.TrimSuffix(src, "\n")
}

func lex(src string) ([]token, error) {
	l := &lexer{src: normalizeSource(src), line: 1, lineStarting: true}
	for l.pos < len(l.src) {
		idx := l.nextTagStart(l.pos)
		if idx < 0 {
			l.emitData(l.src[l.pos:])
			l.pos = len(l.src)
			break
		}
		text := l.src[l.pos:idx]
		kind := l.src[idx+1]
		j := idx + 2
		var sign byte
		if j < len(l.src) && (l.src[j] == '-' || l.src[j] == '+') {
			sign = l.src[j]
			j++
		}
		if kind == '%' {
			if end, ok := l.matchRawBegin(j); ok {
				l.emitData(l.stripBefore(text, sign, true))
				l.lineStarting = false
				l.pos = idx
				l.advance(end)
				if err := l.lexRaw(); err != nil {
					return nil, err
				}
				continue
			}
		}
		l.emitData(l.stripBefore(text, sign, kind != '{'))
		l.pos = j
		var err error
		switch kind {
		case '#':
			err = l.lexComment()
		case '%':
			err = l.lexTag(tBlockBegin, tBlockEnd, "%}")
		default:
			err = l.lexTag(tVarBegin, tVarEnd, "}}")
		}
		if err != nil {
			return nil, err
		}
	}
	l.toks = append(l.toks, token{kind: tEOF, line: l.line})
	return l.toks, nil
}

// nextTagStart finds the next "{{", "{%" or "{#" at or after pos.
func (l *lexer) nextTagStart(pos int) int {
	for {
		i := strings.IndexByte(l.src[pos:], '{')
		if i < 0 {
			return -1
		}
		i += pos
		if i+1 < len(l.src) {
			switch l.src[i+1] {
			case '{', '%', '#':
				return i
			}
		}
		pos = i + 1
	}
}

// stripBefore applies whitespace control to the text before a tag: "-"
// strips all trailing whitespace; otherwise lstrip_blocks removes the
// whitespace between the start of the line and a block or comment tag.
func (l *lexer) stripBefore(text string, sign byte, lstrip bool) string {
	if sign == '-' {
		return strings.TrimRightFunc(text, pyIsSpace)
	}
	if sign == '+' || !lstrip {
		return text
	}
	lpos := strings.LastIndexByte(text, '\n') + 1
	if lpos > 0 || l.lineStarting {
		if rest := text[lpos:]; rest != "" && strings.TrimLeftFunc(rest, pyIsSpace) == "" {
			return text[:lpos]
		}
	}
	return text
}

func (l *lexer) emitData(text string) {
	if text != "" {
		l.toks = append(l.toks, token{kind: tData, val: text, line: l.line})
	}
}

// advance moves to end, counting lines and remembering whether the consumed
// text ended with a newline.
func (l *lexer) advance(end int) {
	l.line += strings.Count(l.src[l.pos:end], "\n")
	if end > l.pos {
		l.lineStarting = l.src[end-1] == '\n'
	}
	l.pos = end
}

func (l *lexer) skipSpace(p int) int {
	for p < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[p:])
		if !pyIsSpace(r) {
			break
		}
		p += n
	}
	return p
}

// matchRawBegin reports whether "\s*raw\s*%}" (or "-%}") follows p.
func (l *lexer) matchRawBegin(p int) (int, bool) {
	p = l.skipSpace(p)
	if !strings.HasPrefix(l.src[p:], "raw") {
		return 0, false
	}
	p = l.skipSpace(p + 3)
	switch {
	case strings.HasPrefix(l.src[p:], "-%}"):
		return l.skipSpace(p + 3), true
	case strings.HasPrefix(l.src[p:], "%}"):
		return p + 2, true
	}
	return 0, false
}

// lexRaw emits the text up to the matching endraw tag as data.
func (l *lexer) lexRaw() error {
	start := l.pos
	for p := start; ; {
		idx := strings.Index(l.src[p:], "{%")
		if idx < 0 {
			return syntaxErr(l.line, "missing end of raw directive")
		}
		idx += p
		j := idx + 2
		var sign byte
		if j < len(l.src) && (l.src[j] == '-' || l.src[j] == '+') {
			sign = l.src[j]
			j++
		}
		q := l.skipSpace(j)
		if strings.HasPrefix(l.src[q:], "endraw") {
			q = l.skipSpace(q + 6)
			end := -1
			switch {
			case strings.HasPrefix(l.src[q:], "+%}"):
				end = q + 3
			case strings.HasPrefix(l.src[q:], "-%}"):
				end = l.skipSpace(q + 3)
			case strings.HasPrefix(l.src[q:], "%}"):
				end = q + 2
				if end < len(l.src) && l.src[end] == '\n' {
					end++
				}
			}
			if end >= 0 {
				l.emitData(l.stripBefore(l.src[start:idx], sign, true))
				l.advance(end)
				return nil
			}
		}
		p = idx + 2
	}
}

func (l *lexer) lexComment() error {
	for p := l.pos; ; {
		i := strings.Index(l.src[p:], "#}")
		if i < 0 {
			if l.pos >= len(l.src) {
				return nil // Jinja accepts a bare "{#" at the very end
			}
			return syntaxErr(l.line, "missing end of comment tag")
		}
		i += p
		end := i + 2
		switch {
		case i > l.pos && l.src[i-1] == '-':
			end = l.skipSpace(end)
		case i > l.pos && l.src[i-1] == '+':
		default:
			if end < len(l.src) && l.src[end] == '\n' {
				end++
			}
		}
		l.lineStarting = false
		l.advance(end)
		return nil
	}
}

// lexTag lexes the inside of a {% %} or {{ }} tag up to its end delimiter.
// End delimiters inside open brackets do not count, as in Jinja.
func (l *lexer) lexTag(begin, endKind tokKind, endDelim string) error {
	l.toks = append(l.toks, token{kind: begin, line: l.line})
	l.lineStarting = false
	var stack []byte
	for {
		if l.pos >= len(l.src) {
			return syntaxErr(l.line, "unexpected end of template, expected '%s'", endDelim)
		}
		rest := l.src[l.pos:]
		if len(stack) == 0 {
			end := -1
			switch {
			case endKind == tBlockEnd && strings.HasPrefix(rest, "+"+endDelim):
				end = l.pos + 3
			case strings.HasPrefix(rest, "-"+endDelim):
				end = l.skipSpace(l.pos + 3)
			case strings.HasPrefix(rest, endDelim):
				end = l.pos + 2
				if endKind == tBlockEnd && end < len(l.src) && l.src[end] == '\n' {
					end++
				}
			}
			if end >= 0 {
				l.toks = append(l.toks, token{kind: endKind, line: l.line})
				l.advance(end)
				return nil
			}
		}
		r, n := utf8.DecodeRuneInString(rest)
		switch {
		case pyIsSpace(r):
			l.advance(l.skipSpace(l.pos))
		case r >= '0' && r <= '9':
			if err := l.lexNumber(); err != nil {
				return err
			}
		case r == '_' || unicode.IsLetter(r):
			p := l.pos + n
			for p < len(l.src) {
				r2, n2 := utf8.DecodeRuneInString(l.src[p:])
				if r2 != '_' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				p += n2
			}
			l.toks = append(l.toks, token{kind: tName, val: l.src[l.pos:p], line: l.line})
			l.advance(p)
		case r == '\'' || r == '"':
			if err := l.lexString(byte(r)); err != nil {
				return err
			}
		default:
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(rest, o) {
					op = o
					break
				}
			}
			if op == "" {
				return syntaxErr(l.line, "unexpected char %s", quoteStr(string(r)))
			}
			switch op {
			case "(", "[", "{":
				stack = append(stack, map[string]byte{"(": ')', "[": ']', "{": '}'}[op])
			case ")", "]", "}":
				if len(stack) == 0 {
					return syntaxErr(l.line, "unexpected '%s'", op)
				}
				if want := stack[len(stack)-1]; want != op[0] {
					return syntaxErr(l.line, "unexpected '%s', expected '%c'", op, want)
				}
				stack = stack[:len(stack)-1]
			}
			l.toks = append(l.toks, token{kind: tOp, val: op, line: l.line})
			l.advance(l.pos + len(op))
		}
	}
}

func isDigitIn(c byte, base int) bool {
	switch base {
	case 2:
		return c == '0' || c == '1'
	case 8:
		return c >= '0' && c <= '7'
	case 16:
		return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
	}
	return c >= '0' && c <= '9'
}

// scanDigits scans digits of a base with single underscores between them.
func (l *lexer) scanDigits(p, base int) int {
	for p < len(l.src) {
		if isDigitIn(l.src[p], base) {
			p++
			continue
		}
		if l.src[p] == '_' && p+1 < len(l.src) && isDigitIn(l.src[p+1], base) {
			p += 2
			continue
		}
		break
	}
	return p
}

func (l *lexer) lexNumber() error {
	src, start := l.src, l.pos
	if src[start] == '0' && start+1 < len(src) {
		base := map[byte]int{'b': 2, 'o': 8, 'x': 16}[src[start+1]|0x20]
		if base != 0 {
			p := start + 2
			if p < len(src) && src[p] == '_' {
				p++
			}
			end := l.scanDigits(p, base)
			if end > p {
				v, err := strconv.ParseInt(strings.ReplaceAll(src[p:end], "_", ""), base, 64)
				if err != nil {
					return syntaxErr(l.line, "integer literal too large")
				}
				l.toks = append(l.toks, token{kind: tInt, val: src[start:end], ival: v, line: l.line})
				l.advance(end)
				return nil
			}
		}
	}
	p := l.scanDigits(start, 10)
	isFloat := false
	if p+1 < len(src) && src[p] == '.' && isDigitIn(src[p+1], 10) {
		p = l.scanDigits(p+1, 10)
		isFloat = true
	}
	if p < len(src) && src[p]|0x20 == 'e' {
		q := p + 1
		if q < len(src) && (src[q] == '+' || src[q] == '-') {
			q++
		}
		if q < len(src) && isDigitIn(src[q], 10) {
			p = l.scanDigits(q, 10)
			isFloat = true
		}
	}
	text := strings.ReplaceAll(src[start:p], "_", "")
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !math.IsInf(f, 0) {
			return syntaxErr(l.line, "bad float literal %s", text)
		}
		l.toks = append(l.toks, token{kind: tFloat, val: text, fval: f, line: l.line})
	} else {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return syntaxErr(l.line, "integer literal too large")
		}
		l.toks = append(l.toks, token{kind: tInt, val: text, ival: v, line: l.line})
	}
	l.advance(p)
	return nil
}

func (l *lexer) lexString(quote byte) error {
	p := l.pos + 1
	for p < len(l.src) && l.src[p] != quote {
		if l.src[p] == '\\' {
			p++
		}
		p++
	}
	if p >= len(l.src) {
		return syntaxErr(l.line, "unexpected end of string")
	}
	s, err := unescapeString(l.src[l.pos+1 : p])
	if err != nil {
		return syntaxErr(l.line, "%v", err)
	}
	l.toks = append(l.toks, token{kind: tString, val: s, line: l.line})
	l.advance(p + 1)
	return nil
}

// unescapeString decodes Python string-literal escapes (\n, \t, \xhh,
// \uhhhh, \Uhhhhhhhh, octal); unknown escapes keep their backslash.
func unescapeString(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch n := s[i]; n {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(n)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, j := 0, i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				v = v*8 + int(s[j]-'0')
				j++
			}
			b.WriteRune(rune(v))
			i = j - 1
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[n]
			if i+1+width > len(s) {
				return "", valueErr("truncated \\%c escape", n)
			}
			v, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32)
			if err != nil || v > unicode.MaxRune {
				return "", valueErr("malformed \\%c escape", n)
			}
			b.WriteRune(rune(v))
			i += width
		default:
			b.WriteByte('\\')
			b.WriteByte(n)
		}
	}
	return b.String(), nil
}
