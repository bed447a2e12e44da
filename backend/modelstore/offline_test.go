package modelstore

import (
	"errors"
	"strings"
	"testing"

	"inferenceruntime/backend/events"
)

// TestDownloadHostUnresolved: without a network (a name that never
// resolves stands in for it) a download says what failed and when it tries
// again, gives up after MaxUnresolved tries rather than MaxFailures, and
// leaves nothing behind.
func TestDownloadHostUnresolved(t *testing.T) {
	opts := testOptions()
	opts.MaxUnresolved = 3
	e := newEnv(t, t.TempDir(), opts)
	d, err := e.pull(t, "http://nohost.invalid/model.gguf", "org/repo:Q8_0", "")
	if !errors.Is(err, ErrUnresolved) || strings.Count(err.Error(), "nohost.invalid") != 1 {
		t.Fatalf("pull = %v; want ErrUnresolved naming the host once", err)
	}
	if d.State != StateFailed || d.Done != 0 {
		t.Errorf("download %+v, want failed with nothing done", d)
	}
	var retries []string
	for _, ev := range e.rec.Events() {
		if p, ok := ev.Payload.(events.Progress); ok && p.State == StateRetrying {
			retries = append(retries, p.Error)
		}
	}
	if len(retries) != opts.MaxUnresolved-1 {
		t.Errorf("%d retrying events, want %d: %q", len(retries), opts.MaxUnresolved-1, retries)
	}
	for _, r := range retries {
		if !strings.HasPrefix(r, "cannot resolve nohost.invalid; next try in ") {
			t.Errorf("retrying event says %q", r)
		}
	}
	e.checkNothing(t)
}
