package events

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBarNonTerminal(t *testing.T) {
	var buf bytes.Buffer
	b := NewBar(&buf)
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	p := Progress{ID: "1", Kind: "download", Name: "org/model:Q4_K_M", State: "running", Total: 4 << 20}
	b.Emit(TopicProgress, p)
	for i := 1; i <= 3; i++ {
		p.Done = int64(i) << 20
		now = now.Add(time.Second) // within the 5 s interval: not drawn
		b.Emit(TopicProgress, p)
	}
	b.Emit("other", p)
	b.Emit(TopicProgress, "not progress")
	p.Done, p.State = 4<<20, "done"
	b.Emit(TopicProgress, p)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("wrote %d lines, want 2 (first and final):\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "[========================] 100% 4.0 MiB/4.0 MiB done") {
		t.Fatalf("final line %q", lines[1])
	}
	if strings.Contains(buf.String(), "\r") {
		t.Fatal("carriage returns written to a non-terminal")
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 << 20: "1.5 GiB", 3 << 40: "3.0 TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	p := Progress{Name: "m", State: "running", Done: 512, Rate: 2048, ETA: 90 * time.Second}
	if got := FormatProgress(p); got != "m 512 B 2.0 KiB/s ETA 1m30s" {
		t.Errorf("unknown total: %q", got)
	}
	p = Progress{Name: "m", State: "failed", Done: 50, Total: 100, Error: "checksum mismatch"}
	if got := FormatProgress(p); !strings.HasPrefix(got, "m [============            ]  50%") || !strings.HasSuffix(got, "failed: checksum mismatch") {
		t.Errorf("failed: %q", got)
	}
}

func TestMeter(t *testing.T) {
	rec := &Recorder{}
	m := NewMeter(rec, TopicProgress, Progress{ID: "x", Kind: "import", Total: 1000})
	now := time.Unix(100, 0)
	m.now = func() time.Time { return now }
	m.lastT, m.lastEmit = now, now
	for i := 1; i <= 10; i++ {
		now = now.Add(100 * time.Millisecond)
		m.Set(int64(i * 50)) // 500 B/s
	}
	p := m.Progress()
	if p.Done != 500 || p.Rate < 400 || p.Rate > 600 || p.ETA < 800*time.Millisecond || p.ETA > 1300*time.Millisecond {
		t.Fatalf("progress %+v; want ~500 B/s and ~1 s left", p)
	}
	n := len(rec.Events())
	if n == 0 || n > 6 {
		t.Fatalf("%d events for 10 updates at 200 ms throttling", n)
	}
	m.State("done", "")
	last := rec.Events()[len(rec.Events())-1].Payload.(Progress)
	if last.State != "done" || last.Rate != 0 || last.ETA != 0 {
		t.Fatalf("final event %+v", last)
	}
}

func TestChannelNeverBlocks(t *testing.T) {
	c := NewChannel(1)
	c.Emit("a", 1)
	c.Emit("b", 2) // full: dropped, not blocked
	if e := <-c.C; e.Topic != "a" {
		t.Fatalf("got %+v", e)
	}
	select {
	case e := <-c.C:
		t.Fatalf("unexpected %+v", e)
	default:
	}
	Multi{Or(nil), Func(func(string, any) {}), c}.Emit("c", 3)
	if e := <-c.C; e.Topic != "c" {
		t.Fatalf("Multi did not forward: %+v", e)
	}
}

// TestPrintable: text from files and servers cannot drive the terminal.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain org/model:Q4_K_M": "plain org/model:Q4_K_M",
		"héllo 名前 🙂":             "héllo 名前 🙂",
		"\x1b[2J\x1b]0;x\x07":    `\x1b[2J\x1b]0;x\a`,
		"a\tb\nc\rd":             `a\tb\nc\rd`,
		"\u009b31m \u202e":       `\u009b31m \u202e`,
		"bad \xff\xfe":           `bad \xff\xfe`,
		"":                       "",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	p := Progress{Name: "evil\x1b[31m.gguf", State: "failed", Error: "bad \x1b]0;title\x07"}
	if got := FormatProgress(p); strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("FormatProgress wrote control characters: %q", got)
	}
	long := strings.Repeat("é", 30) // 60 bytes: the cut must not split a character
	if got := FormatProgress(Progress{Name: long}); !utf8.ValidString(got) {
		t.Errorf("FormatProgress cut a character: %q", got)
	}
}
