package library

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestFolders(t *testing.T) {
	l, _, dir := openTest(t)
	ctx := context.Background()
	root := filepath.Join(dir, "elsewhere")

	// Hugging Face's cache: snapshot names link to hash-named blobs.
	hfBlob := filepath.Join(root, "hub", "models--org--Repo-GGUF", "blobs", strings.Repeat("ab", 32))
	os.MkdirAll(filepath.Dir(hfBlob), 0o755)
	writeModel(t, hfBlob, 1024, 1)
	snap := filepath.Join(root, "hub", "models--org--Repo-GGUF", "snapshots", "0123abc", "Repo-Q4_K_M.gguf")
	os.MkdirAll(filepath.Dir(snap), 0o755)
	if err := os.Symlink(filepath.Join("..", "..", "blobs", strings.Repeat("ab", 32)), snap); err != nil {
		t.Fatal(err)
	}
	// Ollama: GGUF blobs without extension, named by a manifest.
	ollDigest := strings.Repeat("cd", 32)
	ollBlob := filepath.Join(root, "ollama", "blobs", "sha256-"+ollDigest)
	os.MkdirAll(filepath.Dir(ollBlob), 0o755)
	writeModel(t, ollBlob, 1024, 2)
	os.WriteFile(filepath.Join(root, "ollama", "blobs", "sha256-"+strings.Repeat("ef", 32)), []byte(`{"template":"x"}`), 0o644)
	manifest := filepath.Join(root, "ollama", "manifests", "registry.ollama.ai", "library", "llama3.2", "1b")
	os.MkdirAll(filepath.Dir(manifest), 0o755)
	os.WriteFile(manifest, []byte(`{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:`+ollDigest+`"}]}`), 0o644)
	// Plain files, and things that must be ignored.
	plain := filepath.Join(root, "lmstudio", "vendor", "Plain-Q8_0.gguf")
	os.MkdirAll(filepath.Dir(plain), 0o755)
	writeModel(t, plain, 1024, 3)
	os.WriteFile(filepath.Join(root, "lmstudio", "notes.txt"), []byte("GGUF but a text file"), 0o644)
	os.WriteFile(filepath.Join(root, "lmstudio", "broken.gguf"), []byte("GGUF\x03\x00\x00\x00"), 0o644)
	writeModel(t, filepath.Join(root, "lmstudio", "x.gguf.partial"), 1024, 4)
	os.MkdirAll(filepath.Join(root, "lmstudio", ".hidden"), 0o755)
	writeModel(t, filepath.Join(root, "lmstudio", ".hidden", "h.gguf"), 1024, 5)
	writeModel(t, filepath.Join(root, "lmstudio", "Split-00001-of-00002.gguf"), 1024, 6)

	var added []string
	for _, sub := range []string{"hub", "ollama/blobs", "lmstudio"} {
		f, rep, err := l.AddFolder(ctx, filepath.Join(root, sub))
		if err != nil {
			t.Fatal(err)
		}
		if f.Models != len(rep.Added) {
			t.Errorf("folder %s: Models %d, added %v", sub, f.Models, rep.Added)
		}
		added = append(added, rep.Added...)
		if sub == "lmstudio" && len(rep.Skipped) != 2 {
			t.Errorf("lmstudio skipped %v, want broken.gguf and the split shard", rep.Skipped)
		}
	}
	sort.Strings(added)
	want := []string{"Plain-Q8_0", "llama3.2:1b", "org/Repo-GGUF:Q4_K_M"}
	if strings.Join(added, ",") != strings.Join(want, ",") {
		t.Fatalf("added %v, want %v", added, want)
	}
	if _, _, err := l.AddFolder(ctx, filepath.Join(root, "hub")); err == nil {
		t.Error("adding a folder twice succeeded")
	}
	if _, _, err := l.AddFolder(ctx, l.Dir()); err == nil {
		t.Error("the store itself was accepted as a library folder")
	}
	if got := dirNames(t, filepath.Join(l.Dir(), "blobs")); len(got) != 0 {
		t.Fatalf("folder indexing copied files: %v", got)
	}
	m, err := l.Resolve(ctx, "org/Repo-GGUF:Q4_K_M")
	if err != nil || m.Location != InPlace || m.Path != snap {
		t.Fatalf("HF model = %+v, %v", m, err)
	}

	// A file vanishes: missing. It returns: restored. A new one appears.
	os.Rename(plain, plain+".away")
	writeModel(t, filepath.Join(root, "lmstudio", "New-Q4_0.gguf"), 1024, 7)
	rep, err := l.Rescan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Missing, ",") != "Plain-Q8_0" || strings.Join(rep.Added, ",") != "New-Q4_0" {
		t.Fatalf("rescan = %+v", rep)
	}
	if _, err := l.Resolve(ctx, "Plain-Q8_0"); !errors.Is(err, ErrMissing) {
		t.Fatalf("resolve missing = %v", err)
	}
	os.Rename(plain+".away", plain)
	if rep, err = l.Rescan(ctx); err != nil || strings.Join(rep.Restored, ",") != "Plain-Q8_0" || len(rep.Added) != 0 {
		t.Fatalf("rescan after return = %+v, %v", rep, err)
	}

	folders, err := l.Folders(ctx)
	if err != nil || len(folders) != 3 {
		t.Fatalf("folders = %v, %v", folders, err)
	}
	if err := l.RemoveFolder(ctx, filepath.Join(root, "lmstudio")); err != nil {
		t.Fatal(err)
	}
	ms, _ := l.List(ctx)
	if len(ms) != 2 {
		t.Fatalf("after removing a folder: %d models, want 2", len(ms))
	}
	if _, err := os.Stat(plain); err != nil {
		t.Fatalf("removing a folder touched its files: %v", err)
	}
	if err := l.RemoveFolder(ctx, filepath.Join(root, "nope")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove unknown folder = %v", err)
	}
}

func TestEstimateFit(t *testing.T) {
	// Llama 3.2 1B-like: 16 layers, 8 KV heads of 64.
	m := Meta{ContextLength: 131072, VocabSize: 128256,
		HParams: HParams{Layers: 16, Embd: 2048, Heads: 32, HeadsKV: 8, KeyLength: 64, ValueLength: 64}}
	const file = 800 << 20
	f := EstimateFit(m, file, 4096, 2, 64<<30)
	if f.KVCache != 16*4096*8*128*2 { // 2 (K and V) x 64 x 2 bytes... per layer and token
		t.Errorf("KV cache = %d", f.KVCache)
	}
	if f.Weights != file || f.Total != f.Weights+f.KVCache+f.Buffers || f.Verdict != FitFits || !f.Exact {
		t.Errorf("fit = %+v", f)
	}
	// F32 cache doubles the KV part.
	if g := EstimateFit(m, file, 4096, 4, 64<<30); g.KVCache != 2*f.KVCache {
		t.Errorf("F32 KV = %d, want %d", g.KVCache, 2*f.KVCache)
	}
	if g := EstimateFit(m, file, 4096, 2, f.Total); g.Verdict != FitTight {
		t.Errorf("verdict at just enough memory = %s", g.Verdict)
	}
	if g := EstimateFit(m, file, 4096, 2, f.Total-1); g.Verdict != FitWontFit {
		t.Errorf("verdict below need = %s", g.Verdict)
	}
	if g := EstimateFit(m, file, 4096, 2, -1); g.Verdict != FitUnknown {
		t.Errorf("verdict without memory info = %s", g.Verdict)
	}
	if g := EstimateFit(m, file, 0, 2, 64<<30); g.Context != 4096 {
		t.Errorf("default context = %d", g.Context)
	}
	if g := EstimateFit(Meta{}, file, 2048, 2, 64<<30); g.Exact || g.Total < file {
		t.Errorf("fit without hyper-parameters = %+v", g)
	}
	if avail, err := AvailableMemory(); err == nil && avail <= 0 {
		t.Errorf("AvailableMemory = %d", avail)
	}
}
