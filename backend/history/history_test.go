package history

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"inferenceruntime/backend/db"
)

// openStore opens a Store on a fresh database file with a fixed clock that
// advances one second per reading.
func openStore(t testing.TB) *Store {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s, err := New(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	return s
}

func mustCreate(t testing.TB, s *Store, title string) Conversation {
	t.Helper()
	c, err := s.Create(context.Background(), NewConversation{Title: title, Model: "tiny", System: "Be brief."})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustAdd(t testing.TB, s *Store, conv, parent int64, role, content string) Message {
	t.Helper()
	m, err := s.Add(context.Background(), conv, NewMessage{ParentID: parent, Role: role, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustReply streams pieces into a new reply under parent and finishes it.
func mustReply(t testing.TB, s *Store, conv, parent int64, pieces ...string) Message {
	t.Helper()
	ctx := context.Background()
	// No timed writes: the fixed clock advances only when the test expects.
	r, err := s.BeginReply(ctx, conv, parent, "tiny", ReplyOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pieces {
		if err := r.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	m, err := r.Finish(ctx, StateDone, "", &Stats{PromptTokens: 10, GeneratedTokens: len(pieces), DoneReason: "stop"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// branch returns the ids of a thread's messages and their sibling indexes.
func branch(th Thread) (ids []int64, idx []int) {
	for _, m := range th.Messages {
		ids = append(ids, m.ID)
		idx = append(idx, m.SiblingIndex)
	}
	return ids, idx
}

func TestTreeBranches(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := mustCreate(t, s, "Branches")
	u1 := mustAdd(t, s, c.ID, 0, RoleUser, "What is 2+2?")
	a1 := mustReply(t, s, c.ID, u1.ID, "Four", ".")
	// Regenerate: a second answer to the same question.
	a2 := mustReply(t, s, c.ID, u1.ID, "4")
	// Edit the question and resend: a sibling of u1 with its own answer.
	u2 := mustAdd(t, s, c.ID, 0, RoleUser, "What is 3+3?")
	a3 := mustReply(t, s, c.ID, u2.ID, "Six")
	u3 := mustAdd(t, s, c.ID, a3.ID, RoleUser, "And 4+4?")

	steps := []struct {
		name   string
		do     func() (Thread, error)
		ids    []int64
		idx    []int
		leaf   int64
		nSibs0 int
	}{
		{"current", func() (Thread, error) { return s.Thread(ctx, c.ID) }, []int64{u2.ID, a3.ID, u3.ID}, []int{1, 0, 0}, u3.ID, 2},
		{"select first question", func() (Thread, error) { return s.SelectBranch(ctx, u1.ID) }, []int64{u1.ID, a2.ID}, []int{0, 1}, a2.ID, 2},
		{"select first answer", func() (Thread, error) { return s.SelectBranch(ctx, a1.ID) }, []int64{u1.ID, a1.ID}, []int{0, 0}, a1.ID, 2},
		{"kept after reload", func() (Thread, error) { return s.Thread(ctx, c.ID) }, []int64{u1.ID, a1.ID}, []int{0, 0}, a1.ID, 2},
		{"back to the edit", func() (Thread, error) { return s.SelectBranch(ctx, u2.ID) }, []int64{u2.ID, a3.ID, u3.ID}, []int{1, 0, 0}, u3.ID, 2},
	}
	for _, st := range steps {
		th, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		ids, idx := branch(th)
		if !reflect.DeepEqual(ids, st.ids) || !reflect.DeepEqual(idx, st.idx) {
			t.Errorf("%s: branch %v at %v, want %v at %v", st.name, ids, idx, st.ids, st.idx)
		}
		if th.Conversation.CurrentLeaf != st.leaf {
			t.Errorf("%s: current leaf %d, want %d", st.name, th.Conversation.CurrentLeaf, st.leaf)
		}
		if got := len(th.Messages[0].Siblings); got != st.nSibs0 {
			t.Errorf("%s: first message has %d versions, want %d", st.name, got, st.nSibs0)
		}
	}

	th, _ := s.SelectBranch(ctx, u1.ID)
	if got := th.Messages[1].Siblings; !reflect.DeepEqual(got, []int64{a1.ID, a2.ID}) {
		t.Errorf("answer versions %v, want [%d %d]", got, a1.ID, a2.ID)
	}
	if th.Messages[1].Content != "4" || th.Messages[1].Stats == nil || th.Messages[1].Stats.GeneratedTokens != 1 {
		t.Errorf("second answer = %+v", th.Messages[1].Message)
	}
	path, err := s.Path(ctx, u3.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range path {
		got = append(got, m.Content)
	}
	if want := []string{"What is 3+3?", "Six", "And 4+4?"}; !reflect.DeepEqual(got, want) {
		t.Errorf("path to the last question: %q, want %q", got, want)
	}
	conv, _ := s.Get(ctx, c.ID)
	if conv.Messages != 6 {
		t.Errorf("conversation counts %d messages, want 6", conv.Messages)
	}
}

func TestAddErrors(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a := mustCreate(t, s, "A")
	b := mustCreate(t, s, "B")
	inA := mustAdd(t, s, a.ID, 0, RoleUser, "hello")
	tests := []struct {
		name     string
		conv     int64
		m        NewMessage
		notFound bool
	}{
		{"missing conversation", 9999, NewMessage{Role: RoleUser, Content: "x"}, true},
		{"missing parent", a.ID, NewMessage{ParentID: 9999, Role: RoleUser, Content: "x"}, true},
		{"parent in another conversation", b.ID, NewMessage{ParentID: inA.ID, Role: RoleUser, Content: "x"}, true},
		{"bad role", a.ID, NewMessage{Role: "tool", Content: "x"}, false},
	}
	for _, tt := range tests {
		_, err := s.Add(ctx, tt.conv, tt.m)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if errors.Is(err, ErrNotFound) != tt.notFound {
			t.Errorf("%s: %v (not found: %v, want %v)", tt.name, err, errors.Is(err, ErrNotFound), tt.notFound)
		}
	}
	if _, err := s.Thread(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("thread of a missing conversation: %v", err)
	}
	if _, err := s.SelectBranch(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("select a missing message: %v", err)
	}
	if _, err := s.Rename(ctx, 9999, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rename a missing conversation: %v", err)
	}
	if err := s.Delete(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete a missing conversation: %v", err)
	}
}

func TestListRenameDelete(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	first := mustCreate(t, s, "First")
	second := mustCreate(t, s, "Second")
	mustAdd(t, s, first.ID, 0, RoleUser, "activity moves First to the top")
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("list = %+v, want First then Second", list)
	}
	if list[0].Messages != 1 || list[0].System != "Be brief." || list[0].Model != "tiny" {
		t.Errorf("first = %+v", list[0])
	}
	r, err := s.Rename(ctx, second.ID, "  Renamed\n  title\t")
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != "Renamed title" {
		t.Errorf("renamed title %q", r.Title)
	}
	temp, topP := 0.5, 0.9
	p := Params{Temperature: &temp, TopP: &topP, MaxTokens: 64, Seed: 7}
	got, err := s.SetSettings(ctx, second.ID, "other", "Talk like a pirate.", p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "other" || got.System != "Talk like a pirate." || !reflect.DeepEqual(got.Params, p) {
		t.Errorf("settings = %+v", got)
	}
	if err := s.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	list, _ = s.List(ctx)
	if len(list) != 1 || list[0].ID != second.ID {
		t.Errorf("after delete: %+v", list)
	}
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM messages WHERE conversation_id = ?`, first.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("messages of the deleted conversation: %d (%v)", n, err)
	}
}

func TestTitles(t *testing.T) {
	long := "Explain how the attention mechanism of a transformer decides which earlier tokens matter"
	tests := []struct{ in, want string }{
		{"Hello there", "Hello there"},
		{"  two\nlines  ", "two"},
		{"tabs\tand   spaces", "tabs and spaces"},
		{long, "Explain how the attention mechanism of a transformer…"},
		{"", ""},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := TitleFrom(tt.in); got != tt.want {
			t.Errorf("TitleFrom(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	s := openStore(t)
	c, err := s.Rename(context.Background(), mustCreate(t, s, "").ID, strings.Repeat("word ", 100))
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(c.Title)); n > maxTitle {
		t.Errorf("title of %d runes kept", n)
	}
}
