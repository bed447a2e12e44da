package events

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bar draws Progress events as a one-line progress bar per task. On a
// terminal the line is redrawn in place a few times a second; elsewhere (a
// log file, a pipe) a plain line is written now and then, so logs stay short.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	interval time.Duration
	last     map[string]time.Time
	open     string // id of the task whose line is drawn without a newline yet
	now      func() time.Time
}

// NewBar returns a Bar writing to w. Whether w is a terminal is detected when
// it is an *os.File.
func NewBar(w io.Writer) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	interval := 5 * time.Second
	if tty {
		interval = 100 * time.Millisecond
	}
	return &Bar{w: w, tty: tty, interval: interval, last: map[string]time.Time{}, now: time.Now}
}

// Emit implements Emitter. Only Progress payloads are drawn.
func (b *Bar) Emit(topic string, payload any) {
	p, ok := payload.(Progress)
	if !ok || topic != TopicProgress {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	final := isFinal(p.State)
	now := b.now()
	if !final && p.State == "running" && now.Sub(b.last[p.ID]) < b.interval {
		return
	}
	if !b.tty && !final && b.last[p.ID].IsZero() && p.Total > 0 && p.Done >= p.Total {
		// A task that starts complete gets its final line only, or nothing
		// if its caller reports the outcome another way (see Discard).
		return
	}
	b.last[p.ID] = now
	line := FormatProgress(p)
	if b.tty {
		if b.open != "" && b.open != p.ID {
			fmt.Fprintln(b.w)
		}
		fmt.Fprintf(b.w, "\r\x1b[K%s", line)
		b.open = p.ID
		if final {
			fmt.Fprintln(b.w)
			b.open = ""
			delete(b.last, p.ID)
		}
		return
	}
	fmt.Fprintln(b.w, line)
	if final {
		delete(b.last, p.ID)
	}
}

// Finish ends a line left open on a terminal.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != "" {
		fmt.Fprintln(b.w)
		b.open = ""
	}
}

// Discard erases the line left open on a terminal, for a caller that
// reports the outcome in its own words.
func (b *Bar) Discard() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != "" {
		fmt.Fprint(b.w, "\r\x1b[K")
		delete(b.last, b.open)
		b.open = ""
	}
}

func isFinal(state string) bool {
	switch state {
	case "done", "failed", "cancelled", "paused":
		return true
	}
	return false
}

// FormatProgress renders p as one line: name, bar, percentage, bytes, rate
// and ETA.
func FormatProgress(p Progress) string {
	const width = 24
	var sb strings.Builder
	name := []rune(Printable(p.Name))
	if len(name) > 40 {
		name = append([]rune("…"), name[len(name)-39:]...)
	}
	sb.WriteString(string(name))
	sb.WriteString(" ")
	if f := p.Fraction(); f >= 0 {
		n := int(f * width)
		sb.WriteString("[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]")
		fmt.Fprintf(&sb, " %3.0f%% %s/%s", f*100, FormatBytes(p.Done), FormatBytes(p.Total))
	} else {
		fmt.Fprintf(&sb, "%s", FormatBytes(p.Done))
	}
	if p.Rate > 0 && p.State == "running" {
		fmt.Fprintf(&sb, " %s/s", FormatBytes(int64(p.Rate)))
	}
	if p.ETA > 0 && p.State == "running" {
		fmt.Fprintf(&sb, " ETA %s", p.ETA.Round(time.Second))
	}
	if p.State != "" && p.State != "running" {
		sb.WriteString(" " + p.State)
	}
	if p.Error != "" {
		sb.WriteString(": " + Printable(p.Error))
	}
	return sb.String()
}

// Printable makes text that came from a file, a server or a user safe to
// write to a terminal: control characters (which can move the cursor, clear
// the screen or retitle the window), bidirectional overrides and invalid
// UTF-8 are written as Go escapes (\x1b, \u202e, \xff); the rest is kept.
func Printable(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if !clean || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// FormatBytes renders n with a binary unit (B, KiB, MiB, GiB, TiB).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}
