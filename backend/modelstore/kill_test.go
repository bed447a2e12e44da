package modelstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"inferenceruntime/backend/db"
	"inferenceruntime/backend/library"
	"inferenceruntime/internal/testproc"
)

// TestHelperDownloadProcess is not a test: TestDownloadSurvivesSIGKILL runs
// the test binary again with this as the only test, to be killed.
func TestHelperDownloadProcess(t *testing.T) {
	home, url := os.Getenv("IR_TEST_DOWNLOAD_HOME"), os.Getenv("IR_TEST_DOWNLOAD_URL")
	if home == "" {
		t.Skip("helper process for TestDownloadSurvivesSIGKILL")
	}
	d, err := db.Open(filepath.Join(home, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	lib, err := library.Open(context.Background(), d, filepath.Join(home, "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := NewManager(d, lib, nil, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dl, err := mgr.Start(ctx, Target{Name: "org/repo:Q8_0", URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if dl, err = mgr.Wait(ctx, dl.ID); err != nil || dl.State != StateDone {
		t.Fatalf("download = %+v, %v", dl, err)
	}
	fmt.Println("DOWNLOAD-DONE", dl.ModelID)
}

// TestDownloadSurvivesSIGKILL kills a downloading process at random points,
// restarts it, and checks that the download resumes and ends verified.
func TestDownloadSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	content := modelBytes(t, 3<<20, 12)
	s, url := slowServer(t, content, 32<<10, 3*time.Millisecond)
	home := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	downloads := filepath.Join(home, "models", "downloads")

	run := func(kill bool) string {
		var killAt func()
		if kill {
			killAt = func() {
				// Wait for the partial file to grow past a random point (or
				// a random time, whichever comes first).
				cur := partialSize(downloads)
				target := cur + rng.Int64N(int64(len(content))-cur+1)
				deadline := time.Now().Add(time.Duration(50+rng.IntN(600)) * time.Millisecond)
				for time.Now().Before(deadline) && partialSize(downloads) < target {
					time.Sleep(2 * time.Millisecond)
				}
			}
		}
		return testproc.Run(t, "TestHelperDownloadProcess", []string{"IR_TEST_DOWNLOAD_HOME=" + home, "IR_TEST_DOWNLOAD_URL=" + url}, killAt)
	}

	for i := 0; i < 6; i++ {
		out := run(true)
		if strings.Contains(out, "DOWNLOAD-DONE") {
			break // finished before the kill landed
		}
		t.Logf("kill %d at %d bytes", i, partialSize(downloads))
	}
	resumeFrom := partialSize(downloads)
	out := run(false)
	if !strings.Contains(out, "DOWNLOAD-DONE") {
		t.Fatalf("final run failed:\n%s", out)
	}
	e := newEnv(t, home, testOptions())
	e.checkModel(t, "org/repo:Q8_0", content)
	if resumeFrom > 0 && s.rangeRequests() == 0 {
		t.Fatalf("a partial file of %d bytes was not resumed with Range", resumeFrom)
	}
}

func partialSize(dir string) int64 {
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".partial") {
			if fi, err := e.Info(); err == nil {
				return fi.Size()
			}
		}
	}
	return 0
}
