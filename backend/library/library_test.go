package library

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferenceruntime/backend/db"
	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library/fixture"
)

// openTest opens a library with a real SQLite database in a temp dir.
func openTest(t *testing.T) (*Library, *sql.DB, string) {
	t.Helper()
	dir := t.TempDir()
	return openAt(t, dir, nil)
}

func openAt(t *testing.T, dir string, emit events.Emitter) (*Library, *sql.DB, string) {
	t.Helper()
	d, err := db.Open(filepath.Join(dir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	l, err := Open(context.Background(), d, filepath.Join(dir, "models"), emit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, d, dir
}

func writeModel(t *testing.T, path string, size int, seed byte) string {
	t.Helper()
	if err := fixture.Model(path, size, seed); err != nil {
		t.Fatal(err)
	}
	return fileSHA(t, path)
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestDigestValidation(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		name, d string
		ok      bool
	}{
		{"lowercase hex", good, true},
		{"uppercase", strings.ToUpper(good), false},
		{"mixed case", "A" + good[1:], false},
		{"short", good[:63], false},
		{"long", good + "0", false},
		{"empty", "", false},
		{"dot dot", "../" + good[3:], false},
		{"slash inside", good[:30] + "/" + good[31:], false},
		{"absolute", "/etc/passwd" + good[11:], false},
		{"percent encoded", "%2e%2e%2f" + good[9:], false},
		{"NUL", good[:63] + "\x00", false},
		{"prefixed", "sha256:" + good[7:], false},
		{"non-hex letter", "g" + good[1:], false},
		{"unicode digit", "٣" + good[2:], false},
		{"trailing newline", good[:63] + "\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ValidDigest(c.d); got != c.ok {
				t.Fatalf("ValidDigest(%q) = %v, want %v", c.d, got, c.ok)
			}
			name, err := BlobName(c.d)
			if c.ok != (err == nil) {
				t.Fatalf("BlobName(%q) err = %v", c.d, err)
			}
			if err != nil && !errors.Is(err, ErrBadDigest) {
				t.Fatalf("BlobName error %v is not ErrBadDigest", err)
			}
			if err == nil {
				if d, err := DigestFromBlobName(name); err != nil || d != c.d {
					t.Fatalf("round trip %q -> %q, %v", name, d, err)
				}
			}
			if _, err := DigestFromBlobName("sha256-" + c.d); (err == nil) != c.ok {
				t.Fatalf("DigestFromBlobName accepted %q: %v", c.d, err)
			}
		})
	}
}

// TestNothingOutsideStore checks that a tampered database row or a hostile
// file name cannot make the library reach outside its store folder.
func TestNothingOutsideStore(t *testing.T) {
	l, d, dir := openTest(t)
	ctx := context.Background()
	// A file the library must never report or delete.
	outside := filepath.Join(dir, "outside.gguf")
	writeModel(t, outside, 64, 1)

	for _, bad := range []string{"../" + strings.Repeat("a", 61), strings.Repeat("A", 64), "/" + strings.Repeat("a", 63)} {
		if have, err := l.HasBlob(bad); err == nil || have {
			t.Errorf("HasBlob(%q) = %v, %v; want an error", bad, have, err)
		}
	}
	// A row whose "digest" climbs out of the store: reading it must fail,
	// removing it must not delete anything outside.
	evil := "../../outside.gguf" + strings.Repeat("x", 64-len("../../outside.gguf"))
	if _, err := d.Exec(`INSERT INTO models (id, name, digest, size, location, added_at) VALUES ('evil', 'evil', ?, 1, 'blob', 0)`, evil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO model_names (name, model_id, created_at) VALUES ('evil', 'evil', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, "evil"); !errors.Is(err, ErrBadDigest) {
		t.Errorf("Resolve(evil) = %v, want ErrBadDigest", err)
	}
	if l.removeBlobIfUnused(ctx, evil) {
		t.Error("removeBlobIfUnused accepted a path digest")
	}
	for _, name := range []string{"../x.partial", "/abs.partial", "x.partial", "..%2fx.partial",
		"01234567-89ab-cdef-0123-456789abcdef.partial\x00"} {
		if _, err := l.ImportDownload(ctx, name, strings.Repeat("a", 64), ImportOptions{}); err == nil {
			t.Errorf("ImportDownload(%q) accepted", name)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("file outside the store was touched: %v", err)
	}
}

func TestImportCopy(t *testing.T) {
	rec := &events.Recorder{}
	l, _, dir := openAt(t, t.TempDir(), rec)
	ctx := context.Background()
	src := filepath.Join(dir, "My Model (test).gguf")
	sum := writeModel(t, src, 3<<20, 7)

	res, err := l.Import(ctx, src, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if res.Existing || m.Name != "My-Model--test-" || m.Digest != sum || m.Location != InBlob {
		t.Fatalf("imported %+v (existing %v), want name My-Model--test- digest %s", m, res.Existing, sum)
	}
	if got := fileSHA(t, m.Path); got != sum || filepath.Dir(m.Path) != filepath.Join(l.Dir(), "blobs") {
		t.Fatalf("blob %s has sha %s, want %s", m.Path, got, sum)
	}
	if m.Meta.Architecture != "llama" || m.Meta.ContextLength != 2048 || m.Meta.VocabSize != 8 ||
		m.Meta.HParams.Layers != 2 || m.Meta.HParams.HeadsKV != 4 || m.Meta.HParams.KeyLength != 8 ||
		m.Meta.ParamCount != 3<<18 || m.Meta.ChatTemplate == "" || m.Meta.FileType != "F32" {
		t.Fatalf("metadata %+v", m.Meta)
	}
	var sawImport bool
	for _, e := range rec.Events() {
		if p, ok := e.Payload.(events.Progress); ok && p.Kind == "import" && p.State == "done" && p.Done == p.Total {
			sawImport = true
		}
	}
	if !sawImport {
		t.Error("no final import progress event")
	}

	// The same bytes again: nothing new.
	again, err := l.Import(ctx, src, ImportOptions{})
	if err != nil || !again.Existing || again.Model.ID != m.ID {
		t.Fatalf("re-import = %+v, %v; want the existing model", again, err)
	}
	// The same bytes under another name: a second model sharing the blob.
	other, err := l.Import(ctx, src, ImportOptions{Name: "org/other:F32"})
	if err != nil || other.Existing || other.Model.Digest != sum {
		t.Fatalf("import under a new name = %+v, %v", other, err)
	}
	if _, err := l.Import(ctx, src, ImportOptions{Name: "ORG/OTHER:f32"}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("import under a taken name (other case) = %v, want ErrNameTaken", err)
	}
	if got := dirNames(t, filepath.Join(l.Dir(), "blobs")); len(got) != 1 {
		t.Fatalf("blobs = %v, want one", got)
	}
	if got := dirNames(t, filepath.Join(l.Dir(), "tmp")); len(got) != 0 {
		t.Fatalf("temp files left: %v", got)
	}

	// rm keeps the blob while another model uses it.
	r, err := l.Remove(ctx, m.Name)
	if err != nil || !r.ModelRemoved || r.BlobRemoved {
		t.Fatalf("rm first = %+v, %v", r, err)
	}
	if _, err := os.Stat(other.Model.Path); err != nil {
		t.Fatalf("shared blob deleted: %v", err)
	}
	r, err = l.Remove(ctx, "org/other:F32")
	if err != nil || !r.ModelRemoved || !r.BlobRemoved {
		t.Fatalf("rm last = %+v, %v", r, err)
	}
	if got := dirNames(t, filepath.Join(l.Dir(), "blobs")); len(got) != 0 {
		t.Fatalf("blobs after rm = %v", got)
	}
	if _, err := l.Remove(ctx, "org/other:F32"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rm again = %v, want ErrNotFound", err)
	}
}

func TestImportRejectsBadFiles(t *testing.T) {
	l, _, dir := openTest(t)
	ctx := context.Background()
	good := filepath.Join(dir, "good.gguf")
	writeModel(t, good, 4096, 1)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty.gguf":     {},
		"text.gguf":      []byte("hello, this is not a model"),
		"truncated.gguf": data[:len(data)-100],
		"header.gguf":    data[:40],
		"badmagic.gguf":  append([]byte("GGUX"), data[4:]...),
	}
	for name, body := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, inPlace := range []bool{false, true} {
			_, err := l.Import(ctx, p, ImportOptions{InPlace: inPlace})
			if !errors.Is(err, ErrInvalidGGUF) {
				t.Errorf("import %s (in place %v) = %v, want ErrInvalidGGUF", name, inPlace, err)
			}
		}
	}
	if _, err := l.Import(ctx, dir, ImportOptions{}); err == nil {
		t.Error("importing a folder succeeded")
	}
	if _, err := l.Import(ctx, good, ImportOptions{Name: "../evil"}); !errors.Is(err, ErrBadName) {
		t.Errorf("import with a bad name = %v", err)
	}
	ms, err := l.List(ctx)
	if err != nil || len(ms) != 0 {
		t.Fatalf("list = %v, %v; want nothing", ms, err)
	}
	for _, sub := range []string{"blobs", "tmp"} {
		if got := dirNames(t, filepath.Join(l.Dir(), sub)); len(got) != 0 {
			t.Errorf("%s left: %v", sub, got)
		}
	}
}

func TestImportInPlace(t *testing.T) {
	l, _, dir := openTest(t)
	ctx := context.Background()
	src := filepath.Join(dir, "local.gguf")
	writeModel(t, src, 1024, 3)
	res, err := l.Import(ctx, src, ImportOptions{InPlace: true, Name: "local:f32"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Model.Location != InPlace || res.Model.Path != src || res.Model.Digest != "" {
		t.Fatalf("in-place model %+v", res.Model)
	}
	if got := dirNames(t, filepath.Join(l.Dir(), "blobs")); len(got) != 0 {
		t.Fatalf("in-place import copied: %v", got)
	}
	if again, err := l.Import(ctx, src, ImportOptions{InPlace: true}); err != nil || !again.Existing {
		t.Fatalf("second in-place import = %+v, %v", again, err)
	}

	// The file changes: the next use validates it and refreshes the record.
	writeModel(t, src, 8192, 4)
	m, err := l.Use(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != fileSize(t, src) || m.Meta.ParamCount != 2048 {
		t.Fatalf("after change: %+v", m)
	}
	if got, _ := l.Get(ctx, m.ID); got.LastUsedAt.IsZero() || got.Size != m.Size {
		t.Fatalf("stored after use: %+v", got)
	}
	// Corrupted in place: a clear error, no crash.
	if err := os.WriteFile(src, []byte("GGUF broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, "local:f32"); !errors.Is(err, ErrInvalidGGUF) {
		t.Fatalf("resolve corrupted = %v", err)
	}
	// Gone: ErrMissing and the flag.
	os.Remove(src)
	if _, err := l.Resolve(ctx, "local:f32"); !errors.Is(err, ErrMissing) {
		t.Fatalf("resolve missing = %v", err)
	}
	if got, _ := l.Get(ctx, m.ID); !got.Missing {
		t.Fatal("model not marked missing")
	}
	// rm never deletes the user's file (here: recreate it and check).
	writeModel(t, src, 1024, 3)
	if _, err := l.Remove(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("rm deleted the in-place file: %v", err)
	}
}

func fileSize(t *testing.T, p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestNamesAliasesResolve(t *testing.T) {
	l, _, dir := openTest(t)
	ctx := context.Background()
	src := filepath.Join(dir, "m.gguf")
	writeModel(t, src, 512, 9)
	res, err := l.Import(ctx, src, ImportOptions{Name: "org/model:Q4_K_M"})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Model.ID
	if _, err := l.Alias(ctx, "org/model:q4_k_m", "fav"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Alias(ctx, "fav", "FAV"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("alias differing in case = %v, want ErrNameTaken", err)
	}
	if _, err := l.Alias(ctx, "fav", "a b"); !errors.Is(err, ErrBadName) {
		t.Fatalf("alias with a space = %v", err)
	}
	if _, err := l.Alias(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("alias of unknown = %v", err)
	}
	for _, ref := range []string{"org/model:Q4_K_M", "ORG/MODEL:q4_k_m", "fav", id, id[:8], "org/model"} {
		m, err := l.Resolve(ctx, ref)
		if err != nil || m.ID != id {
			t.Errorf("Resolve(%q) = %+v, %v", ref, m, err)
		}
	}
	if m, err := l.ResolveInstalled(ctx, "org/model:latest"); err != nil || m.ID != id {
		t.Errorf("ResolveInstalled(name:latest) = %+v, %v", m, err)
	}
	// ResolveInstalled never opens a file it is given by path.
	if _, err := l.ResolveInstalled(ctx, src); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveInstalled(path) = %v, want ErrNotFound", err)
	}
	// A second tag makes the untagged name ambiguous.
	src2 := filepath.Join(dir, "m2.gguf")
	writeModel(t, src2, 512, 10)
	if _, err := l.Import(ctx, src2, ImportOptions{Name: "org/model:Q8_0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, "org/model"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ambiguous untagged name = %v", err)
	}
	// A GGUF file not in the library resolves ad hoc; junk does not.
	other := filepath.Join(dir, "adhoc.gguf")
	writeModel(t, other, 256, 11)
	if m, err := l.Resolve(ctx, other); err != nil || m.Location != AdHoc || m.ID != "" || m.Path != other {
		t.Errorf("Resolve(file) = %+v, %v", m, err)
	}
	if _, err := l.Resolve(ctx, "no/such:model"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(unknown) = %v", err)
	}

	// Removing the display name promotes the alias; the model stays.
	r, err := l.Remove(ctx, "org/model:q4_k_m")
	if err != nil || r.ModelRemoved {
		t.Fatalf("rm display name = %+v, %v", r, err)
	}
	m, err := l.Get(ctx, id)
	if err != nil || m.Name != "fav" || len(m.Aliases) != 0 {
		t.Fatalf("after rm: %+v, %v", m, err)
	}
	if r, err := l.Remove(ctx, "fav"); err != nil || !r.ModelRemoved || !r.BlobRemoved {
		t.Fatalf("rm last name = %+v, %v", r, err)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "llama3.2:1b", "bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "x+y@z", "a/b/c:d"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "/a", "a/", "a//b", "a/../b", "a/./b", "a b", "a\x00b", "a\\b",
		"a%2fb", "ä", strings.Repeat("a", 201), "a/..", "../a"} {
		if err := ValidateName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidateName(%q) = %v, want ErrBadName", bad, err)
		}
	}
}

func TestQuantFromFileName(t *testing.T) {
	cases := map[string]string{
		"Llama-3.2-1B-Instruct-Q4_K_M.gguf": "Q4_K_M",
		"qwen2.5-0.5b-instruct-q8_0.gguf":   "Q8_0",
		"model-IQ4_XS.gguf":                 "IQ4_XS",
		"model.Q4_K.gguf":                   "Q4_K",
		"tiny-fp16.gguf":                    "F16",
		"stories260K.gguf":                  "",
		"model-Q4_0_4_4.gguf":               "Q4_0_4_4",
		"xq4_k_m.gguf":                      "",
	}
	for in, want := range cases {
		if got := QuantFromFileName(in); got != want {
			t.Errorf("QuantFromFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
