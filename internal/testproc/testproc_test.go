package testproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelperProcess is not a test: TestRun runs it as a child.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("IR_TESTPROC_MODE")
	if mode == "" {
		t.Skip("helper process for TestRun")
	}
	fmt.Println("CHILD-STARTED")
	if mode == "hang" {
		if err := os.WriteFile(os.Getenv("IR_TESTPROC_FILE"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour) // until killed
	}
	fmt.Fprintln(os.Stderr, "CHILD-DONE")
}

func TestRun(t *testing.T) {
	tests := []struct {
		mode     string
		kill     bool
		want     []string
		wantNone []string
	}{
		{mode: "finish", want: []string{"CHILD-STARTED", "CHILD-DONE"}},
		{mode: "hang", kill: true, want: []string{"CHILD-STARTED"}, wantNone: []string{"CHILD-DONE", "PASS"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			started := filepath.Join(t.TempDir(), "started")
			var kill func()
			if tc.kill {
				// The hanging child only ends by the kill, once it has
				// said it started.
				kill = func() {
					for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
						if _, err := os.Stat(started); err == nil {
							return
						}
					}
				}
			}
			out := Run(t, "TestHelperProcess", []string{"IR_TESTPROC_MODE=" + tc.mode, "IR_TESTPROC_FILE=" + started}, kill)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
