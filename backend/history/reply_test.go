package history

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// stored reads a message's content and state straight from the table.
func stored(t *testing.T, s *Store, id int64) (string, string) {
	t.Helper()
	var content, state string
	if err := s.db.QueryRow(`SELECT content, state FROM messages WHERE id = ?`, id).Scan(&content, &state); err != nil {
		t.Fatal(err)
	}
	return content, state
}

func TestReplyFlushesByPieces(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := mustCreate(t, s, "")
	q := mustAdd(t, s, c.ID, 0, RoleUser, "count")
	// An interval no test run reaches: only the piece count writes.
	r, err := s.BeginReply(ctx, c.ID, q.ID, "tiny", ReplyOptions{FlushInterval: time.Hour, FlushPieces: 3})
	if err != nil {
		t.Fatal(err)
	}
	if content, state := stored(t, s, r.ID()); content != "" || state != StateStreaming {
		t.Fatalf("new reply stored as %q/%s", content, state)
	}
	if th, _ := s.Thread(ctx, c.ID); th.Conversation.CurrentLeaf != r.ID() {
		t.Errorf("current leaf %d, want the new reply %d", th.Conversation.CurrentLeaf, r.ID())
	}
	want := []string{"", "", "one two three", "one two three", "one two three", "one two three four five six", "one two three four five six"}
	for i, piece := range []string{"one", " two", " three", " four", " five", " six", " seven"} {
		if err := r.Append(piece); err != nil {
			t.Fatal(err)
		}
		if content, _ := stored(t, s, r.ID()); content != want[i] {
			t.Errorf("after piece %d the database holds %q, want %q", i+1, content, want[i])
		}
	}
	if r.Text() != "one two three four five six seven" {
		t.Errorf("Text() = %q", r.Text())
	}
	stats := &Stats{PromptTokens: 3, GeneratedTokens: 7, TimeToFirstMS: 12.5, TokensPerSecond: 40, DoneReason: "cancelled"}
	cancelled, cancel := context.WithCancel(ctx)
	cancel() // a stopped reply is finished with the cancelled context
	m, err := r.Finish(cancelled, StateStopped, "", stats)
	if err != nil {
		t.Fatal(err)
	}
	if m.Content != "one two three four five six seven" || m.State != StateStopped || *m.Stats != *stats {
		t.Errorf("finished message = %+v (stats %+v)", m, m.Stats)
	}
	if err := r.Append("more"); err == nil {
		t.Error("Append after Finish succeeded")
	}
	if _, err := r.Finish(ctx, "streaming", "", nil); err == nil {
		t.Error("Finish with state streaming succeeded")
	}
}

func TestReplyFlushesByTime(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := mustCreate(t, s, "")
	q := mustAdd(t, s, c.ID, 0, RoleUser, "slow")
	r, err := s.BeginReply(ctx, c.ID, q.ID, "tiny", ReplyOptions{FlushInterval: 20 * time.Millisecond, FlushPieces: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	flushed := make(chan int, 10)
	r.mu.Lock()
	r.onFlush = func(n int) { mu.Lock(); defer mu.Unlock(); flushed <- n }
	r.mu.Unlock()
	// One piece and then silence: the timer writes it without a further
	// Append.
	if err := r.Append("lonely piece"); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-flushed:
		if n != len("lonely piece") {
			t.Errorf("timer wrote %d bytes", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the timer never wrote the piece")
	}
	if content, state := stored(t, s, r.ID()); content != "lonely piece" || state != StateStreaming {
		t.Errorf("stored %q/%s", content, state)
	}
	if _, err := r.Finish(ctx, StateError, "model crashed", nil); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message(ctx, r.ID())
	if m.State != StateError || m.Error != "model crashed" || m.Stats != nil {
		t.Errorf("errored reply = %+v", m)
	}
}

func TestRecoverInterrupted(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := mustCreate(t, s, "")
	q := mustAdd(t, s, c.ID, 0, RoleUser, "q")
	r, err := s.BeginReply(ctx, c.ID, q.ID, "tiny", ReplyOptions{FlushPieces: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.Append("partial answer")
	done := mustReply(t, s, c.ID, q.ID, "complete")
	// A new process opens the store: the abandoned reply is interrupted.
	s2, err := New(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s2.Message(ctx, r.ID())
	if m.State != StateInterrupted || m.Content != "partial answer" {
		t.Errorf("abandoned reply = %q/%s", m.Content, m.State)
	}
	if m, _ := s2.Message(ctx, done.ID); m.State != StateDone {
		t.Errorf("finished reply became %s", m.State)
	}
	if n, _ := s2.RecoverInterrupted(ctx); n != 0 {
		t.Errorf("second recovery changed %d messages", n)
	}
	if _, err := s2.SelectBranch(ctx, r.ID()); err != nil {
		t.Fatal(err)
	}
	md, err := s2.ExportMarkdown(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "partial answer\n\n*(interrupted)*") {
		t.Errorf("export does not mark the interrupted reply:\n%s", md)
	}
}
