package chattmpl

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func overflow() error { return &Error{Kind: "OverflowError", Msg: "integer overflow"} }

// binaryOp applies a Python arithmetic operator.
func binaryOp(op string, a, b any) (any, error) {
	if u, ok := a.(*undefinedValue); ok {
		return nil, u.err()
	}
	if u, ok := b.(*undefinedValue); ok {
		return nil, u.err()
	}
	ai, af, aflt, aNum := asNumber(a)
	bi, bf, bflt, bNum := asNumber(b)
	if aNum && bNum {
		if !aflt && !bflt {
			return intOp(op, ai, bi)
		}
		return floatOp(op, af, bf)
	}
	switch op {
	case "+":
		if v, ok, err := markupAdd(a, b); ok {
			return v, err
		}
		switch x := a.(type) {
		case string:
			if y, ok := b.(string); ok {
				return x + y, nil
			}
			return nil, typeErr("can only concatenate str (not \"%s\") to str", typeName(b))
		case []any:
			if y, ok := b.([]any); ok {
				out := make([]any, 0, len(x)+len(y))
				return append(append(out, x...), y...), nil
			}
			return nil, typeErr("can only concatenate list (not \"%s\") to list", typeName(b))
		case Tuple:
			if y, ok := b.(Tuple); ok {
				out := make(Tuple, 0, len(x)+len(y))
				return append(append(out, x...), y...), nil
			}
			return nil, typeErr("can only concatenate tuple (not \"%s\") to tuple", typeName(b))
		}
	case "*":
		if aNum && !aflt {
			a, b, bi, bNum, bflt = b, a, ai, true, false
		}
		if bNum && !bflt {
			n := int(bi)
			if bi < 0 {
				n = 0
			}
			if bi > math.MaxInt32 {
				return nil, &Error{Kind: "LimitError", Msg: "repetition too large"}
			}
			switch x := a.(type) {
			case string:
				if len(x)*n > maxRepeat {
					return nil, &Error{Kind: "LimitError", Msg: "repetition too large"}
				}
				return strings.Repeat(x, n), nil
			case markup:
				if len(x)*n > maxRepeat {
					return nil, &Error{Kind: "LimitError", Msg: "repetition too large"}
				}
				return markup(strings.Repeat(string(x), n)), nil
			case []any:
				if len(x)*n > maxRepeat {
					return nil, &Error{Kind: "LimitError", Msg: "repetition too large"}
				}
				out := make([]any, 0, len(x)*n)
				for i := 0; i < n; i++ {
					out = append(out, x...)
				}
				return out, nil
			}
		}
	case "%":
		switch x := a.(type) {
		case string:
			return percentFormat(x, b, false)
		case markup:
			return percentFormat(string(x), b, true)
		}
	}
	return nil, typeErr("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

// maxRepeat bounds string and list repetition.
const maxRepeat = 1 << 24

func intOp(op string, a, b int64) (any, error) {
	switch op {
	case "+":
		s := a + b
		if (s > a) != (b > 0) {
			return nil, overflow()
		}
		return s, nil
	case "-":
		s := a - b
		if (s < a) != (b > 0) {
			return nil, overflow()
		}
		return s, nil
	case "*":
		if a == 0 || b == 0 {
			return int64(0), nil
		}
		hi, lo := bits.Mul64(uint64(abs64(a)), uint64(abs64(b)))
		if hi != 0 || lo > math.MaxInt64 || a == math.MinInt64 || b == math.MinInt64 {
			return nil, overflow()
		}
		if (a < 0) != (b < 0) {
			return -int64(lo), nil
		}
		return int64(lo), nil
	case "/":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "division by zero"}
		}
		return float64(a) / float64(b), nil
	case "//":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "integer division or modulo by zero"}
		}
		if a == math.MinInt64 && b == -1 {
			return nil, overflow()
		}
		q := a / b
		if (a%b != 0) && ((a < 0) != (b < 0)) {
			q--
		}
		return q, nil
	case "%":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "integer division or modulo by zero"}
		}
		if b == -1 {
			return int64(0), nil
		}
		m := a % b
		if m != 0 && ((m < 0) != (b < 0)) {
			m += b
		}
		return m, nil
	case "**":
		if b < 0 {
			if a == 0 {
				return nil, &Error{Kind: "ZeroDivisionError", Msg: "0.0 cannot be raised to a negative power"}
			}
			return math.Pow(float64(a), float64(b)), nil
		}
		result := int64(1)
		base := a
		for e := b; e > 0; e >>= 1 {
			if e&1 == 1 {
				v, err := intOp("*", result, base)
				if err != nil {
					return nil, err
				}
				result = v.(int64)
			}
			if e > 1 {
				v, err := intOp("*", base, base)
				if err != nil {
					return nil, err
				}
				base = v.(int64)
			}
		}
		return result, nil
	}
	return nil, typeErr("unsupported operand type(s) for %s: 'int' and 'int'", op)
}

func abs64(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

func floatOp(op string, a, b float64) (any, error) {
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "float division by zero"}
		}
		return a / b, nil
	case "//":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "float floor division by zero"}
		}
		return math.Floor(a / b), nil
	case "%":
		if b == 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "float modulo"}
		}
		m := math.Mod(a, b)
		if m != 0 && ((m < 0) != (b < 0)) {
			m += b
		}
		return m, nil
	case "**":
		if a == 0 && b < 0 {
			return nil, &Error{Kind: "ZeroDivisionError", Msg: "0.0 cannot be raised to a negative power"}
		}
		return math.Pow(a, b), nil
	}
	return nil, typeErr("unsupported operand type(s) for %s: 'float' and 'float'", op)
}

// percentFormat is Python's "format % args" for the common conversions
// (%s %r %d %i %f %e %g %x %o %c %%) with flags, width and precision. With
// escape it is Markup's %: the text of %s (unless already markup) and %r is
// escaped, and the result is markup.
func percentFormat(format string, arg any, escape bool) (any, error) {
	var args []any
	var mapping *Dict
	// Python treats any subscriptable non-tuple argument as a possible
	// mapping and then does not complain about unused arguments
	subscriptable := false
	switch x := arg.(type) {
	case Tuple:
		args = x
	case *Dict:
		mapping = x
		args = []any{x}
	case []any, rangeValue:
		subscriptable = true
		args = []any{x}
	default:
		args = []any{x}
	}
	var b strings.Builder
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			return nil, valueErr("incomplete format")
		}
		var val any
		haveVal := false
		if format[i] == '(' && mapping != nil {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return nil, valueErr("incomplete format key")
			}
			v, ok := mapping.Get(format[i+1 : i+end])
			if !ok {
				return nil, &Error{Kind: "KeyError", Msg: quoteStr(format[i+1 : i+end])}
			}
			val, haveVal = v, true
			i += end + 1
		}
		flags := ""
		for i < len(format) && strings.IndexByte("-+ #0", format[i]) >= 0 {
			flags += string(format[i])
			i++
		}
		width := ""
		for i < len(format) && format[i] >= '0' && format[i] <= '9' {
			width += string(format[i])
			i++
		}
		prec := -1
		if i < len(format) && format[i] == '.' {
			i++
			p := 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				p = p*10 + int(format[i]-'0')
				i++
				if p > 1000 {
					return nil, valueErr("precision too big")
				}
			}
			prec = p
		}
		if i >= len(format) {
			return nil, valueErr("incomplete format")
		}
		conv := format[i]
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if !haveVal {
			if next >= len(args) {
				return nil, typeErr("not enough arguments for format string")
			}
			val = args[next]
			next++
		}
		s, err := formatOne(conv, flags, prec, val, escape)
		if err != nil {
			return nil, err
		}
		w, _ := strconv.Atoi(width)
		if w > maxRepeat {
			return nil, &Error{Kind: "LimitError", Msg: "format width too large"}
		}
		if pad := w - utf8Len(s); pad > 0 {
			switch {
			case strings.Contains(flags, "-"):
				s += strings.Repeat(" ", pad)
			case strings.Contains(flags, "0") && strings.IndexByte("dioxXeEfFgG", conv) >= 0:
				sign := ""
				if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
					sign, s = s[:1], s[1:]
				}
				s = sign + strings.Repeat("0", pad) + s
			default:
				s = strings.Repeat(" ", pad) + s
			}
		}
		b.WriteString(s)
	}
	if mapping == nil && !subscriptable && next < len(args) {
		return nil, typeErr("not all arguments converted during string formatting")
	}
	if escape {
		return markup(b.String()), nil
	}
	return b.String(), nil
}

// formatChar is %c: an integer code point or a one-character string.
func formatChar(v any) (string, error) {
	if s, ok := strOf(v); ok {
		if n := utf8.RuneCountInString(s); n != 1 {
			return "", typeErr("%%c requires an int or a unicode character, not a string of length %d", n)
		}
		return s, nil
	}
	i, _, isFloat, ok := asNumber(v)
	if !ok || isFloat {
		if u, isU := v.(*undefinedValue); isU {
			return "", u.err()
		}
		return "", typeErr("%%c requires an int or a unicode character, not %s", typeName(v))
	}
	if i < 0 || i > unicode.MaxRune {
		return "", &Error{Kind: "OverflowError", Msg: "%c arg not in range(0x110000)"}
	}
	return string(rune(i)), nil
}

func formatOne(conv byte, flags string, prec int, v any, escape bool) (string, error) {
	sign := func(s string, neg bool) string {
		if neg {
			return "-" + s
		}
		if strings.Contains(flags, "+") {
			return "+" + s
		}
		if strings.Contains(flags, " ") {
			return " " + s
		}
		return s
	}
	switch conv {
	case 's', 'r', 'a':
		str := toStr
		if conv != 's' {
			str = pyRepr
		}
		s, err := str(v)
		if err != nil {
			return "", err
		}
		if escape && (conv != 's' || !isMarkup(v)) {
			s = htmlEscaper.Replace(s)
		}
		if prec >= 0 && prec < utf8Len(s) {
			s = string([]rune(s)[:prec])
		}
		return s, nil
	case 'c':
		if escape {
			// Markup % wraps each argument in a helper that is neither
			// an int nor a character.
			return "", typeErr("%%c requires int or char")
		}
		return formatChar(v)
	case 'd', 'i', 'u', 'x', 'X', 'o':
		i, f, isFloat, ok := asNumber(v)
		if !ok {
			if u, isU := v.(*undefinedValue); isU {
				return "", u.err()
			}
			return "", typeErr("%%%c format: a real number is required, not %s", conv, typeName(v))
		}
		if isFloat {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return "", valueErr("cannot convert float to integer")
			}
			if f >= 1<<63 || f < -(1<<63) {
				return "", overflow() // Python would print the whole integer; ours are 64-bit
			}
			i = int64(f)
		}
		neg := i < 0
		u := uint64(abs64(i))
		switch conv {
		case 'x':
			return sign(strconv.FormatUint(u, 16), neg), nil
		case 'X':
			return sign(strings.ToUpper(strconv.FormatUint(u, 16)), neg), nil
		case 'o':
			return sign(strconv.FormatUint(u, 8), neg), nil
		}
		return sign(strconv.FormatUint(u, 10), neg), nil
	case 'f', 'F', 'e', 'E', 'g', 'G':
		_, f, _, ok := asNumber(v)
		if !ok {
			return "", typeErr("must be real number, not %s", typeName(v))
		}
		if prec < 0 {
			prec = 6
		}
		s := strconv.FormatFloat(math.Abs(f), conv|0x20, prec, 64)
		if conv == 'g' || conv == 'G' {
			if prec == 0 {
				prec = 1
			}
			s = strconv.FormatFloat(math.Abs(f), 'g', prec, 64)
		}
		if conv >= 'A' && conv <= 'Z' {
			s = strings.ToUpper(s)
		}
		return sign(fixExponent(s), math.Signbit(f) && !math.IsNaN(f)), nil
	}
	return "", valueErr("unsupported format character '%c'", conv)
}

// fixExponent turns Go's "e+7" into Python's "e+07".
func fixExponent(s string) string {
	i := strings.IndexAny(s, "eE")
	if i < 0 || i+2 >= len(s) {
		return s
	}
	digits := s[i+2:]
	if len(digits) == 1 {
		return s[:i+2] + "0" + digits
	}
	return s
}
