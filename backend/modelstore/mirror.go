package modelstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Mirror serves local folders the way Hugging Face serves repositories, so
// that IR_STORE_URL can point at an offline mirror (or a test server):
//
//	GET /api/models/{org}/{repo}                    the .gguf files, sizes and SHA-256
//	GET /{org}/{repo}/resolve/{revision}/{file}     a file, with Range, If-Range,
//	                                                ETag and X-Linked-Etag
//
// Files are opened through os.Root, so a request cannot leave its folder.
type Mirror struct {
	// Repos maps "org/repo" to the folder that holds its files.
	Repos map[string]string

	mu   sync.Mutex
	sums map[string]mirrorSum
}

type mirrorSum struct {
	size  int64
	mtime time.Time
	sha   string
}

// ServeHTTP implements http.Handler.
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if rest, ok := strings.CutPrefix(p, "api/models/"); ok {
		m.serveList(w, rest)
		return
	}
	parts := strings.SplitN(p, "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	m.serveFile(w, r, parts[0]+"/"+parts[1], parts[4])
}

func (m *Mirror) root(repo string) (*os.Root, bool) {
	dir, ok := m.Repos[repo]
	if !ok {
		return nil, false
	}
	root, err := os.OpenRoot(dir)
	return root, err == nil
}

func (m *Mirror) serveList(w http.ResponseWriter, repo string) {
	root, ok := m.root(repo)
	if !ok {
		http.NotFound(w, nil)
		return
	}
	defer root.Close()
	type lfs struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		Size      int64  `json:"size"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	var sibs []sibling
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		// A GGUF mirror lists its GGUF files (and need not hash the rest).
		if err != nil || d.IsDir() || !d.Type().IsRegular() || !strings.HasSuffix(strings.ToLower(p), ".gguf") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		sha, err := m.sum(root, p, info)
		if err != nil {
			return nil
		}
		sibs = append(sibs, sibling{RFilename: p, Size: info.Size(), LFS: &lfs{SHA256: sha, Size: info.Size()}})
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": repo, "siblings": sibs})
}

func (m *Mirror) serveFile(w http.ResponseWriter, r *http.Request, repo, file string) {
	root, ok := m.root(repo)
	if !ok {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	sha, err := m.sum(root, file, info)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
	w.Header().Set("X-Linked-Size", fmt.Sprint(info.Size()))
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

// sum returns a file's SHA-256, cached while its size and time stay.
func (m *Mirror) sum(root *os.Root, name string, info fs.FileInfo) (string, error) {
	key := root.Name() + "\x00" + name
	m.mu.Lock()
	c, ok := m.sums[key]
	m.mu.Unlock()
	if ok && c.size == info.Size() && c.mtime.Equal(info.ModTime()) {
		return c.sha, nil
	}
	f, err := root.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	m.mu.Lock()
	if m.sums == nil {
		m.sums = map[string]mirrorSum{}
	}
	m.sums[key] = mirrorSum{size: info.Size(), mtime: info.ModTime(), sha: sha}
	m.mu.Unlock()
	return sha, nil
}
