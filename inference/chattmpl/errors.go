package chattmpl

import "fmt"

// Error is a template failure: a syntax error found by Parse or a runtime
// error raised by Render. Kind follows the Jinja2 exception names
// (TemplateSyntaxError, UndefinedError, TypeError, SecurityError,
// TemplateError for raise_exception, ...).
type Error struct {
	Kind string
	Msg  string
	Line int // 1-based; 0 when unknown
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("template line %d: %s: %s", e.Line, e.Kind, e.Msg)
	}
	return fmt.Sprintf("template: %s: %s", e.Kind, e.Msg)
}

func typeErr(format string, args ...any) error {
	return &Error{Kind: "TypeError", Msg: fmt.Sprintf(format, args...)}
}

func valueErr(format string, args ...any) error {
	return &Error{Kind: "ValueError", Msg: fmt.Sprintf(format, args...)}
}

func runtimeErr(format string, args ...any) error {
	return &Error{Kind: "TemplateRuntimeError", Msg: fmt.Sprintf(format, args...)}
}

func syntaxErr(line int, format string, args ...any) error {
	return &Error{Kind: "TemplateSyntaxError", Msg: fmt.Sprintf(format, args...), Line: line}
}

// atLine stamps err with a line number unless it already has one.
func atLine(err error, line int) error {
	if e, ok := err.(*Error); ok {
		if e.Line == 0 {
			e.Line = line
		}
		return e
	}
	return &Error{Kind: "Error", Msg: err.Error(), Line: line}
}
