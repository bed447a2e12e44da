package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/library/fixture"
	"inferenceruntime/backend/modelstore"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/gguf"
)

// pullRun runs `ir --home home args...` in-process and returns stdout and
// stderr.
func pullRun(t *testing.T, home string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(append([]string{"--home", home}, args...))
	defer func() {
		rootCmd.SetArgs(nil)
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
		rootCmd.SetContext(context.Background())
		pullResume, pullCtx, listJSON, importInPlace, importName, storeJSON, storeCtx = false, 0, false, false, "", false, 0
	}()
	err := rootCmd.Execute()
	return out.String(), errOut.String(), err
}

// pullMirror serves dir as the store repository repo and points
// IR_STORE_URL at it.
func pullMirror(t *testing.T, repo, dir string) {
	t.Helper()
	ts := httptest.NewServer(&modelstore.Mirror{Repos: map[string]string{repo: dir}})
	t.Cleanup(ts.Close)
	t.Setenv(modelstore.EnvStoreURL, ts.URL)
}

func pullExpect(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestPullSyntheticAndLibraryCommands(t *testing.T) {
	repo := t.TempDir()
	if err := fixture.Model(filepath.Join(repo, "Tiny-Q8_0.gguf"), 512<<10, 1); err != nil {
		t.Fatal(err)
	}
	pullMirror(t, "test/tiny", repo)
	home := t.TempDir()

	out, errOut, err := pullRun(t, home, "pull", "test/tiny:Q8_0")
	if err != nil {
		t.Fatalf("pull: %v\n%s%s", err, out, errOut)
	}
	pullExpect(t, "pull output", out, "pulling test/tiny:Q8_0", "fit: ", "pulled test/tiny:Q8_0")
	pullExpect(t, "progress bar", errOut, "[========================] 100%", "done")

	out, _, err = pullRun(t, home, "pull", "test/tiny:Q8_0")
	if err != nil || !strings.Contains(out, "already in the library") {
		t.Fatalf("second pull: %v\n%s", err, out)
	}

	if out, _, err = pullRun(t, home, "pull", "--resume"); err != nil || !strings.Contains(out, "no unfinished downloads") {
		t.Fatalf("pull --resume: %v\n%s", err, out)
	}
	if _, _, err = pullRun(t, home, "pull", "test/tiny:Q2_K"); err == nil || !strings.Contains(err.Error(), "available: Q8_0") {
		t.Fatalf("pull of a missing quant = %v", err)
	}

	local := filepath.Join(t.TempDir(), "My-Local-Q4_0.gguf")
	if err := fixture.Model(local, 4096, 2); err != nil {
		t.Fatal(err)
	}
	if out, _, err = pullRun(t, home, "import", local, "--name", "mine"); err != nil || !strings.Contains(out, "imported mine") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, _, err = pullRun(t, home, "import", local, "--in-place"); err != nil || !strings.Contains(out, "used in place") {
		t.Fatalf("import in place: %v\n%s", err, out)
	}
	if _, _, err = pullRun(t, home, "import", filepath.Join(repo, "nope.gguf")); err == nil {
		t.Fatal("importing a missing file succeeded")
	}
	if out, _, err = pullRun(t, home, "cp", "mine", "team/fav:latest"); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	out, _, err = pullRun(t, home, "list")
	if err != nil {
		t.Fatal(err)
	}
	pullExpect(t, "list", out, "test/tiny:Q8_0", "mine, team/fav:latest", "My-Local-Q4_0", local, "llama")

	if out, _, err = pullRun(t, home, "rm", "team/fav:latest", "mine"); err != nil ||
		!strings.Contains(out, "removed the name team/fav:latest") || !strings.Contains(out, "removed mine and its file") {
		t.Fatalf("rm: %v\n%s", err, out)
	}
	if _, _, err = pullRun(t, home, "rm", "mine"); err == nil {
		t.Fatal("rm of a removed name succeeded")
	}

	out, _, err = pullRun(t, home, "store", "qwen", "7b", "--ctx", "8192")
	if err != nil {
		t.Fatal(err)
	}
	pullExpect(t, "store", out, "qwen2.5-7b-instruct:Q4_K_M", "bartowski/Qwen2.5-7B-Instruct-GGUF", "apache-2.0", "at 8192 ctx")
	// Past the model's context the fit is the model's (a run gets no more);
	// a negative one is a mistake, not the default.
	if out, _, err = pullRun(t, home, "store", "qwen2.5-7b", "--ctx", "99999999999"); err != nil || !strings.Contains(out, "at 32768 ctx") {
		t.Fatalf("store --ctx 99999999999: %v\n%s", err, out)
	}
	for _, cmd := range [][]string{{"store", "--ctx", "-5"}, {"pull", "org/x", "--ctx", "-5"}} {
		if _, errOut, err := pullRun(t, home, cmd...); err == nil || !strings.Contains(errOut+err.Error(), "--ctx") {
			t.Errorf("%v: %v %s, want an error naming --ctx", cmd, err, errOut)
		}
	}

	folder := t.TempDir()
	if err := fixture.Model(filepath.Join(folder, "Found-Q8_0.gguf"), 4096, 3); err != nil {
		t.Fatal(err)
	}
	out, _, err = pullRun(t, home, "folders", "add", folder)
	if err != nil || !strings.Contains(out, "new: Found-Q8_0") {
		t.Fatalf("folders add: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(folder, "Found-Q8_0.gguf"))
	if out, _, err = pullRun(t, home, "folders", "rescan"); err != nil || !strings.Contains(out, "missing: Found-Q8_0") {
		t.Fatalf("folders rescan: %v\n%s", err, out)
	}
	if out, _, err = pullRun(t, home, "folders", "list"); err != nil || !strings.Contains(out, folder) {
		t.Fatalf("folders list: %v\n%s", err, out)
	}
	if out, _, err = pullRun(t, home, "folders", "rm", folder); err != nil {
		t.Fatalf("folders rm: %v\n%s", err, out)
	}
}

// TestPullSharedModels pulls stories260K from a local mirror of
// ../shared/models and checks that `ir list` shows a usable model.
func TestPullSharedModels(t *testing.T) {
	shared := infoSharedModels(t)
	pullMirror(t, "local/stories", shared)
	home := t.TempDir()
	out, errOut, err := pullRun(t, home, "pull", "local/stories/stories260K-Q8_0.gguf")
	if err != nil {
		t.Fatalf("pull: %v\n%s%s", err, out, errOut)
	}
	pullExpect(t, "progress bar", errOut, "100%", "done")
	pullExpect(t, "pull output", out, "pulled local/stories:Q8_0",
		"sha256 ff8701a45da28293b7af11a695ab33575b692e9b109a2eae6238c906c31415da")
	out, _, err = pullRun(t, home, "list")
	if err != nil {
		t.Fatal(err)
	}
	pullExpect(t, "list", out, "local/stories:Q8_0", "llama", "2048")

	svc, err := pullService(home)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	m, err := svc.ResolveModel(context.Background(), "local/stories")
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(m.Path)
	if err != nil {
		t.Fatalf("pulled model does not open: %v", err)
	}
	defer f.Close()
	if toks, _ := f.Strings("tokenizer.ggml.tokens"); len(toks) != 512 {
		t.Fatalf("pulled model has %d tokens, want 512", len(toks))
	}
}

func pullService(home string) (*service.Service, error) {
	return service.Open(context.Background(), service.Options{Home: home})
}
