// Package modelfile reads and writes Ollama's Modelfile: the recipe of a
// custom model (a base, LoRA adapters, parameters, a system prompt, a chat
// template, example messages and a license).
//
//	FROM llama3.2:1b
//	ADAPTER ./tone.gguf:0.8
//	PARAMETER temperature 0.3
//	SYSTEM """You answer in one sentence."""
//
// Values are the rest of the line, a "quoted string" (\" and \\ escape) or a
// """block""" that may span lines. An adapter's scale follows its path after
// a colon (1 when absent), as with `ir run --lora FILE:SCALE`.
package modelfile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// File is a parsed Modelfile. System and Template are nil when not given
// (a model made FROM a custom model then keeps its base's).
type File struct {
	From       string     `json:"from"`
	Adapters   []Adapter  `json:"adapters,omitempty"`
	Parameters Parameters `json:"parameters"`
	System     *string    `json:"system,omitempty"`
	Template   *string    `json:"template,omitempty"`
	Messages   []Message  `json:"messages,omitempty"`
	License    []string   `json:"license,omitempty"`
	// Lines records where each instruction was ("FROM", "TEMPLATE",
	// "SYSTEM", "ADAPTER 0", "MESSAGE 2", ...), so later checks can name
	// the line.
	Lines map[string]int `json:"-"`
}

// Adapter is a LoRA adapter file and the scale it is applied with.
type Adapter struct {
	Path  string  `json:"path"`
	Scale float64 `json:"scale"`
}

// Message is an example turn of the conversation every chat starts with.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Error is a Modelfile mistake and the line it is on.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("Modelfile line %d: %s", e.Line, e.Msg) }

// Roles MESSAGE accepts.
var Roles = []string{"system", "user", "assistant", "tool"}

// Parse reads a Modelfile. FROM is required; an unknown instruction, a
// parameter we do not support, a bad value or an unterminated quote is an
// *Error naming its line.
func Parse(src string) (*File, error) {
	if !utf8.ValidString(src) {
		return nil, &Error{Line: 1, Msg: "the file is not UTF-8 text"}
	}
	p := &parser{src: src, line: 1}
	f := &File{Lines: map[string]int{}}
	for {
		p.skipBlank()
		if p.eof() {
			break
		}
		if p.peek() == '#' {
			p.skipLine()
			continue
		}
		line := p.line
		word := strings.ToUpper(p.word())
		fail := func(format string, args ...any) error {
			return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
		}
		if word == "" {
			return nil, fail("expected an instruction, found %q", p.rest())
		}
		switch word {
		case "FROM", "ADAPTER", "SYSTEM", "TEMPLATE", "LICENSE":
			v, err := p.value(word)
			if err != nil {
				return nil, err
			}
			switch word {
			case "FROM":
				if prev, ok := f.Lines["FROM"]; ok {
					return nil, fail("FROM given twice (first on line %d)", prev)
				}
				if v == "" {
					return nil, fail("FROM needs a model name or a .gguf file")
				}
				f.From = v
			case "ADAPTER":
				path, scale, err := SplitScale(v)
				if err != nil {
					return nil, fail("ADAPTER: %v", err)
				}
				f.Lines[fmt.Sprintf("ADAPTER %d", len(f.Adapters))] = line
				f.Adapters = append(f.Adapters, Adapter{Path: path, Scale: scale})
			case "SYSTEM":
				f.System = &v
			case "TEMPLATE":
				f.Template = &v
			case "LICENSE":
				f.License = append(f.License, v)
			}
			if word != "ADAPTER" {
				f.Lines[word] = line
			}
		case "PARAMETER":
			name := p.word()
			if name == "" {
				return nil, fail("PARAMETER needs a name and a value")
			}
			v, err := p.value("PARAMETER " + name)
			if err != nil {
				return nil, err
			}
			if err := f.Parameters.Set(name, v); err != nil {
				return nil, fail("%v", err)
			}
			f.Lines["PARAMETER "+strings.ToLower(name)] = line
		case "MESSAGE":
			role := strings.ToLower(p.word())
			if !isOneOf(role, Roles) {
				return nil, fail("MESSAGE role %q is not one of %s", role, strings.Join(Roles, ", "))
			}
			v, err := p.value("MESSAGE " + role)
			if err != nil {
				return nil, err
			}
			f.Lines[fmt.Sprintf("MESSAGE %d", len(f.Messages))] = line
			f.Messages = append(f.Messages, Message{Role: role, Content: v})
		default:
			return nil, fail("unknown instruction %q (known: FROM, ADAPTER, PARAMETER, SYSTEM, TEMPLATE, MESSAGE, LICENSE)", word)
		}
	}
	if f.From == "" {
		return nil, &Error{Line: p.line, Msg: "no FROM instruction: a Modelfile must name its base model"}
	}
	return f, nil
}

// SplitScale splits "FILE[:SCALE]": a last colon followed by a number
// gives the scale (1 without one). A Windows drive letter is not a scale.
func SplitScale(arg string) (string, float64, error) {
	path, scale := arg, 1.0
	if i := strings.LastIndexByte(arg, ':'); i > 0 {
		if v, err := strconv.ParseFloat(arg[i+1:], 64); err == nil {
			path, scale = arg[:i], v
		}
	}
	if path == "" {
		return "", 0, fmt.Errorf("no file in %q", arg)
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || math.Abs(scale) > 100 {
		return "", 0, fmt.Errorf("scale %v of %s is not a number in [-100, 100]", scale, path)
	}
	return path, scale, nil
}

// JoinScale is the inverse of SplitScale: the path alone at scale 1.
func JoinScale(path string, scale float64) string {
	if p, _, err := SplitScale(path); scale == 1 && err == nil && p == path {
		return path
	}
	return path + ":" + strconv.FormatFloat(scale, 'g', -1, 64)
}

func isOneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

type parser struct {
	src  string
	pos  int
	line int
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

func (p *parser) skipBlank() {
	for !p.eof() {
		switch p.peek() {
		case '\n':
			p.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		p.pos++
	}
}

func (p *parser) skipSpaces() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.pos++
	}
}

func (p *parser) skipLine() {
	for !p.eof() && p.peek() != '\n' {
		p.pos++
	}
}

// rest is what is left of the line, for messages.
func (p *parser) rest() string {
	end := strings.IndexByte(p.src[p.pos:], '\n')
	if end < 0 {
		return p.src[p.pos:]
	}
	return strings.TrimRight(p.src[p.pos:p.pos+end], "\r")
}

// word reads a run of non-blank characters.
func (p *parser) word() string {
	p.skipSpaces()
	start := p.pos
	for !p.eof() && !strings.ContainsRune(" \t\r\n", rune(p.peek())) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// value reads an instruction's value: a """block""", a "quoted string" or
// the rest of the line.
func (p *parser) value(what string) (string, error) {
	p.skipSpaces()
	line := p.line
	var v string
	switch {
	case strings.HasPrefix(p.src[p.pos:], `"""`):
		end := strings.Index(p.src[p.pos+3:], `"""`)
		if end < 0 {
			return "", &Error{Line: line, Msg: what + `: the """ block is never closed`}
		}
		v = p.src[p.pos+3 : p.pos+3+end]
		p.line += strings.Count(v, "\n")
		p.pos += 3 + end + 3
	case !p.eof() && p.peek() == '"':
		var b strings.Builder
		p.pos++
		for {
			if p.eof() {
				return "", &Error{Line: line, Msg: what + ": the quoted value is never closed"}
			}
			c := p.peek()
			p.pos++
			if c == '"' {
				break
			}
			if c == '\\' && !p.eof() && (p.peek() == '"' || p.peek() == '\\') {
				c = p.peek()
				p.pos++
			}
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
		}
		v = b.String()
	default:
		v = strings.TrimRight(p.rest(), " \t")
		p.pos += len(p.rest())
		if v == "" {
			return "", &Error{Line: line, Msg: what + " needs a value"}
		}
		return v, nil
	}
	if extra := strings.TrimSpace(p.rest()); extra != "" {
		return "", &Error{Line: p.line, Msg: fmt.Sprintf("%s: unexpected %q after the closing quote", what, extra)}
	}
	p.skipLine()
	return v, nil
}

// Format writes f as a Modelfile that Parse reads back to the same File.
func Format(f *File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", formatValue(f.From))
	for _, a := range f.Adapters {
		fmt.Fprintf(&b, "ADAPTER %s\n", formatValue(JoinScale(a.Path, a.Scale)))
	}
	if f.Template != nil {
		fmt.Fprintf(&b, "TEMPLATE %s\n", block(*f.Template))
	}
	if f.System != nil {
		fmt.Fprintf(&b, "SYSTEM %s\n", block(*f.System))
	}
	for _, l := range f.Parameters.Lines() {
		fmt.Fprintf(&b, "PARAMETER %s\n", l)
	}
	for _, m := range f.Messages {
		fmt.Fprintf(&b, "MESSAGE %s %s\n", m.Role, block(m.Content))
	}
	for _, l := range f.License {
		fmt.Fprintf(&b, "LICENSE %s\n", block(l))
	}
	return b.String()
}

// formatValue writes a one-line value bare when it reads back as itself.
func formatValue(s string) string {
	if s != "" && s == strings.TrimSpace(s) && !strings.ContainsAny(s, "\r\n") && s[0] != '"' {
		return s
	}
	return block(s)
}

// block writes a value as a """block""" when it can be one, else quoted.
func block(s string) string {
	if !strings.Contains(s, `"""`) && !strings.HasSuffix(s, `"`) {
		return `"""` + s + `"""`
	}
	return quote(s)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
