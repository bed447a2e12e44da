package library

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
	"inferenceruntime/internal/testproc"
)

// TestHelperImportProcess is not a test: TestImportKilledMidCopy runs the
// test binary again with this as the only test, to be killed mid-copy.
func TestHelperImportProcess(t *testing.T) {
	home, src := os.Getenv("IR_TEST_IMPORT_HOME"), os.Getenv("IR_TEST_IMPORT_FILE")
	if home == "" {
		t.Skip("helper process for TestImportKilledMidCopy")
	}
	copyChunkHook = func() { time.Sleep(4 * time.Millisecond) }
	d, err := db.Open(filepath.Join(home, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(context.Background(), d, filepath.Join(home, "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Import(context.Background(), src, ImportOptions{Name: "victim"}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("IMPORT-DONE")
}

// TestImportKilledMidCopy kills an importing process at random points: no
// half-imported model may be listed, no temp file survives the next start,
// and every blob on disk is complete.
func TestImportKilledMidCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	home := t.TempDir()
	src := filepath.Join(home, "big.gguf")
	sum := writeModel(t, src, 24<<20, 5)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	tmp := filepath.Join(home, "models", "tmp")

	run := func(kill bool) string {
		var killAt func()
		if kill {
			killAt = func() {
				// Wait until the copy has begun, then a random moment more.
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					if es, _ := os.ReadDir(tmp); len(es) > 0 {
						break
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Duration(rng.IntN(90)) * time.Millisecond)
			}
		}
		return testproc.Run(t, "TestHelperImportProcess", []string{"IR_TEST_IMPORT_HOME=" + home, "IR_TEST_IMPORT_FILE=" + src}, killAt)
	}

	midCopy := 0
	for i := 0; i < 4; i++ {
		out := run(true)
		if es, _ := os.ReadDir(tmp); len(es) > 0 {
			midCopy++ // the dead process left its temp file
		}
		l, d, _ := openAt(t, home, nil) // startup cleans up after the dead
		ms, err := l.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if es, _ := os.ReadDir(tmp); len(es) != 0 {
			t.Fatalf("kill %d: temp files survived a restart: %v", i, es)
		}
		for _, m := range ms {
			if m.Name != "victim" || m.Digest != sum || fileSHA(t, m.Path) != sum {
				t.Fatalf("kill %d: listed model %+v is not the complete import", i, m)
			}
		}
		checkBlobsComplete(t, l)
		l.Close()
		d.Close()
		if strings.Contains(out, "IMPORT-DONE") || len(ms) == 1 {
			t.Logf("kill %d came after the import finished", i)
			return
		}
		t.Logf("kill %d: nothing listed", i)
	}
	if midCopy == 0 {
		t.Fatal("no kill landed during the copy")
	}
	if out := run(false); !strings.Contains(out, "IMPORT-DONE") {
		t.Fatalf("import after the kills failed:\n%s", out)
	}
	l, _, _ := openAt(t, home, nil)
	if m, err := l.Resolve(context.Background(), "victim"); err != nil || m.Digest != sum {
		t.Fatalf("after the final import: %+v, %v", m, err)
	}
	checkBlobsComplete(t, l)
}

// checkBlobsComplete asserts that every blob's bytes hash to its name.
func checkBlobsComplete(t *testing.T, l *Library) {
	t.Helper()
	for _, name := range dirNames(t, filepath.Join(l.Dir(), "blobs")) {
		d, err := DigestFromBlobName(name)
		if err != nil {
			t.Fatalf("stray file in blobs: %s", name)
		}
		if got := fileSHA(t, filepath.Join(l.Dir(), "blobs", name)); got != d {
			t.Fatalf("blob %s holds bytes with sha %s", name, got)
		}
	}
}
