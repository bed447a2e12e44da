//go:build unix

package history

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"inferenceruntime/backend/db"
)

// killChildEnv tells a re-executed test binary to stream a reply into the
// database it names until it is killed.
const killChildEnv = "IR_HISTORY_KILL_CHILD"

// killPiece is the i-th piece the child streams; the whole reply is their
// concatenation, so any saved text must be a prefix of it.
func killPiece(i int) string { return fmt.Sprintf("w%d ", i) }

// TestKillMidStream kills (SIGKILL, no cleanup) a process while it streams
// a reply, then checks that the reply survived up to its last write, marked
// interrupted, and that the database and its search index are sound.
func TestKillMidStream(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "history.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillMidStream$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for several writes, then kill between two of them.
	lastSaved, writes := 0, 0
	sc := bufio.NewScanner(out)
	for writes < 5 && sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
			lastSaved, _ = strconv.Atoi(n)
			writes++
		}
	}
	if writes < 5 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child stopped after %d writes", writes)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}

	d, err := db.Open(path) // runs quick_check
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer d.Close()
	s, err := New(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("conversations after the kill: %v %v", list, err)
	}
	th, err := s.Thread(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Messages) != 2 {
		t.Fatalf("thread has %d messages, want the question and the reply", len(th.Messages))
	}
	reply := th.Messages[1]
	if reply.State != StateInterrupted {
		t.Errorf("reply state %q, want interrupted", reply.State)
	}
	var full strings.Builder
	for i := 0; full.Len() < len(reply.Content)+10; i++ {
		full.WriteString(killPiece(i))
	}
	if !strings.HasPrefix(full.String(), reply.Content) {
		t.Errorf("saved reply is not a prefix of what was streamed: %q", reply.Content)
	}
	if len(reply.Content) < lastSaved {
		t.Errorf("saved reply has %d bytes; the child had reported %d saved", len(reply.Content), lastSaved)
	}
	t.Logf("kill after %d writes: %d bytes saved (at least %d reported)", writes, len(reply.Content), lastSaved)
	if _, err := d.Exec(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("search index after the kill: %v", err)
	}
	hits, err := s.Search(context.Background(), "w1", 0)
	if err != nil || len(hits) != 1 {
		t.Errorf("search for a saved word: %v %v", hits, err)
	}
}

// killChild streams pieces forever, reporting each write on stdout.
func killChild(t *testing.T, path string) {
	d, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := s.Create(ctx, NewConversation{Title: "killed"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.Add(ctx, c.ID, NewMessage{Role: RoleUser, Content: "stream until killed"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.BeginReply(ctx, c.ID, q.ID, "tiny", ReplyOptions{FlushInterval: 20 * time.Millisecond, FlushPieces: 7})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.onFlush = func(n int) { fmt.Fprintf(os.Stdout, "saved %d\n", n) }
	r.mu.Unlock()
	for i := 0; ; i++ {
		if err := r.Append(killPiece(i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}
