package history

import (
	"context"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	cook := mustCreate(t, s, "Cooking")
	q := mustAdd(t, s, cook.ID, 0, RoleUser, "How do I make a crème brûlée?")
	mustReply(t, s, cook.ID, q.ID, "Heat the cream, ", "whisk the yolks ", "and bake in a water bath.")
	code := mustCreate(t, s, "Go questions")
	q2 := mustAdd(t, s, code.ID, 0, RoleUser, `What does "defer" do in Go? (and AND OR NOT*)`)
	mustReply(t, s, code.ID, q2.ID, "It runs a call when the function returns.")

	tests := []struct {
		query string
		want  []string // the start of each hit's plain snippet or title, any order
	}{
		{"yolks", []string{"Heat the cream, whisk the yolks"}},
		{"YOLKS water", []string{"Heat the cream, whisk the yolks"}},
		{"creme brulee", []string{"How do I make a crème brûlée?"}}, // diacritics folded
		{"yol", []string{"Heat the cream, whisk the yolks"}},        // last word is a prefix
		{"yol cream", nil}, // only the last word is a prefix
		{`"defer"`, []string{`What does "defer" do in Go?`}},
		{"AND OR", []string{`What does "defer" do in Go?`}}, // operators are words
		{"NOT*", []string{`What does "defer" do in Go?`}},
		{"go", []string{"Go questions", `What does "defer" do in Go?`}},
		{"questions", []string{"Go questions"}}, // the title
		{"function", []string{"It runs a call when the function returns."}},
		{"( ) : ^ - + NEAR(a b)", nil},
		{"", nil},
		{"   ", nil},
		{"nothing-like-this", nil},
	}
	for _, tt := range tests {
		hits, err := s.Search(ctx, tt.query, 0)
		if err != nil {
			t.Errorf("Search(%q): %v", tt.query, err)
			continue
		}
		var got []string
		for _, h := range hits {
			got = append(got, plain(h.Snippet))
		}
		if len(got) != len(tt.want) {
			t.Errorf("Search(%q) = %q, want %d hits like %q", tt.query, got, len(tt.want), tt.want)
			continue
		}
		for _, w := range tt.want {
			found := false
			for _, g := range got {
				found = found || strings.HasPrefix(g, w)
			}
			if !found {
				t.Errorf("Search(%q) = %q, missing %q", tt.query, got, w)
			}
		}
	}

	hits, _ := s.Search(ctx, "yolks", 0)
	if len(hits) == 1 {
		h := hits[0]
		if h.ConversationID != cook.ID || h.Title != "Cooking" || h.Role != RoleAssistant || h.MessageID == 0 {
			t.Errorf("hit = %+v", h)
		}
		if !strings.Contains(h.Snippet, MarkStart+"yolks"+MarkEnd) {
			t.Errorf("snippet %q does not mark the match", h.Snippet)
		}
	}
}

// plain removes the match markers.
func plain(s string) string {
	return strings.NewReplacer(MarkStart, "", MarkEnd, "").Replace(s)
}

// TestSearchFollowsChanges checks that the index follows streamed updates
// and deletes (the triggers, including deletes by cascade).
func TestSearchFollowsChanges(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c := mustCreate(t, s, "")
	q := mustAdd(t, s, c.ID, 0, RoleUser, "tell me about zebras")
	r, err := s.BeginReply(ctx, c.ID, q.ID, "tiny", ReplyOptions{FlushPieces: 1})
	if err != nil {
		t.Fatal(err)
	}
	count := func(query string) int {
		t.Helper()
		hits, err := s.Search(ctx, query, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(hits)
	}
	r.Append("Zebras have ")
	if count("stripes") != 0 || count("zebras") != 2 {
		t.Errorf("after the first piece: stripes %d, zebras %d", count("stripes"), count("zebras"))
	}
	r.Append("stripes.")
	if count("stripes") != 1 {
		t.Errorf("streamed text not searchable: %d hits", count("stripes"))
	}
	if _, err := r.Finish(ctx, StateDone, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := count("zebras"); n != 0 {
		t.Errorf("%d hits after deleting the conversation", n)
	}
	var rows int
	if err := s.db.QueryRow(`SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zebras'`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("index keeps %d rows for deleted messages (%v)", rows, err)
	}
	// The index agrees with the table.
	if _, err := s.db.Exec(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("FTS integrity check: %v", err)
	}
}

func TestMatchQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  ", ""},
		{"cat", `"cat"*`},
		{"black cat", `"black" "cat"*`},
		{`say "hi"`, `"say" """hi"""*`},
		{"a*b OR c", `"a*b" "OR" "c"*`},
	}
	for _, tt := range tests {
		if got := MatchQuery(tt.in); got != tt.want {
			t.Errorf("MatchQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSearch checks that no input makes the search fail or panic.
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{"cat", `"`, `a"b`, "NEAR(a b, 3)", "col:x", "^a", "a*", "-x", "(((", "\x00", "é", "\xff"} {
		f.Add(seed)
	}
	s := openStore(f)
	c := mustCreate(f, s, "fuzz")
	mustAdd(f, s, c.ID, 0, RoleUser, "some text to find: cat, dog, café")
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := s.Search(context.Background(), q, 5); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	})
}
