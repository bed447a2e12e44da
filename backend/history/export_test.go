package history

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// exportFixture builds a conversation with two branches, a stopped reply
// and Markdown in the text.
func exportFixture(t *testing.T) (*Store, int64) {
	s := openStore(t)
	c := mustCreate(t, s, "Export me")
	q1 := mustAdd(t, s, c.ID, 0, RoleUser, "Write `hello` in Go.")
	mustReply(t, s, c.ID, q1.ID, "```go\n", "fmt.Println(\"hello\")\n", "```\n")
	q2 := mustAdd(t, s, c.ID, 0, RoleUser, "Write hello in C.")
	r, err := s.BeginReply(context.Background(), c.ID, q2.ID, "tiny", ReplyOptions{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r.Append("puts(\"hello\");")
	if _, err := r.Finish(context.Background(), StateStopped, "", &Stats{GeneratedTokens: 5, DoneReason: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	return s, c.ID
}

func TestExportMarkdown(t *testing.T) {
	s, id := exportFixture(t)
	md, err := s.ExportMarkdown(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "export.md", md)
	// The other branch exports once selected.
	th, _ := s.Thread(context.Background(), id)
	if _, err := s.SelectBranch(context.Background(), th.Messages[0].Siblings[0]); err != nil {
		t.Fatal(err)
	}
	md, _ = s.ExportMarkdown(context.Background(), id)
	golden(t, "export-first-branch.md", md)
}

func TestExportJSON(t *testing.T) {
	s, id := exportFixture(t)
	js, err := s.ExportJSON(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "export.json", js)
	var e Export
	if err := json.Unmarshal(js, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Messages) != 4 || len(e.CurrentBranch) != 2 || e.Conversation.Title != "Export me" {
		t.Errorf("export holds %d messages, branch %v, title %q", len(e.Messages), e.CurrentBranch, e.Conversation.Title)
	}
	if _, err := s.ExportJSON(context.Background(), 999); err == nil {
		t.Error("export of a missing conversation succeeded")
	}
}
