package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library/fixture"
	"inferenceruntime/inference/gguf/ggufcorrupt"
)

// TestImportErrorsSayEachThingOnce: a file the import refuses gives one
// error that names the file once and says why; the GGUF format's limits
// (a tensor name over 63 bytes) are among the reasons.
func TestImportErrorsSayEachThingOnce(t *testing.T) {
	dir := t.TempDir()
	corrupt := func(name string) string {
		c, ok := ggufcorrupt.Find(name)
		if !ok {
			t.Fatalf("no corrupt case %q", name)
		}
		p, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"tensor name too long", corrupt("tensor-name-too-long"), "tensor 0 has a name of 64 bytes, longer than the 63 GGUF allows"},
		{"zero dimension", corrupt("tensor-dim-0"), "not a valid GGUF model"},
		{"not GGUF", "import.go", "not a GGUF file"},
		{"missing", filepath.Join(dir, "missing.gguf"), "no such file"},
		{"folder", dir, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, inPlace := range []string{"", "--in-place"} {
				args := []string{"import", tc.path}
				if inPlace != "" {
					args = append(args, inPlace)
				}
				out, errOut, err := pullRun(t, t.TempDir(), args...)
				if err == nil {
					t.Fatalf("import %s %s succeeded: %s", tc.path, inPlace, out)
				}
				msg := err.Error()
				abs, _ := filepath.Abs(tc.path)
				if n := strings.Count(msg, filepath.Base(tc.path)); n != 1 || !strings.Contains(msg, abs) {
					t.Errorf("%s: error names the file %d times, want once as %s: %s", inPlace, n, abs, msg)
				}
				if !strings.Contains(msg, tc.want) {
					t.Errorf("%s: error %q does not say %q", inPlace, msg, tc.want)
				}
				if out != "" || errOut != "" {
					t.Errorf("%s: output besides the error: %q %q", inPlace, out, errOut)
				}
			}
		})
	}
}

// TestImportAgain: importing a file the library holds says so, and under
// which name, without drawing a finished import.
func TestImportAgain(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	file := filepath.Join(dir, "Small-Q8_0.gguf")
	if err := fixture.Model(file, 64<<10, 3); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := pullRun(t, home, "import", file, "--name", "small")
	if err != nil || !strings.Contains(out, "imported small") || !strings.Contains(errOut, "100%") || !strings.Contains(errOut, "done") {
		t.Fatalf("first import: %v\n%s%s", err, out, errOut)
	}
	copyOf := filepath.Join(dir, "copy.gguf")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyOf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, again := range []string{file, copyOf} {
		out, errOut, err = pullRun(t, home, "import", again)
		if err != nil {
			t.Fatal(err)
		}
		want := again + " is already in the library as small ("
		if !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "; nothing imported\n") {
			t.Errorf("import of %s again printed %q, want %q...", again, out, want)
		}
		if errOut != "" {
			t.Errorf("import of %s again drew progress: %q", again, errOut)
		}
	}
	// In place: the same answer, from the path alone.
	if _, _, err := pullRun(t, home, "import", file, "--in-place"); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err = pullRun(t, home, "import", file, "--in-place"); err != nil ||
		!strings.Contains(out, "is already in the library as Small-Q8_0 (") || errOut != "" {
		t.Errorf("in-place import again: %v %q %q", err, out, errOut)
	}
}
