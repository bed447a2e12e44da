package modelstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"inferenceruntime/backend/library"
)

// DefaultBaseURL is the store used when IR_STORE_URL is not set.
const DefaultBaseURL = "https://huggingface.co"

// EnvStoreURL names the environment variable that points the store at
// another server (a mirror, or a test server).
const EnvStoreURL = "IR_STORE_URL"

// ErrNoMatch means a repository has no GGUF file matching the request.
var ErrNoMatch = errors.New("no matching GGUF file")

// ErrBadRef means what was typed cannot name anything in the store: a
// malformed repository, file name or quant tag (a client's mistake, not the
// store's).
var ErrBadRef = errors.New("bad model reference")

// badRef is an ErrBadRef with its own message.
type badRef struct{ msg string }

func (e *badRef) Error() string        { return e.msg }
func (e *badRef) Is(target error) bool { return target == ErrBadRef }

func badRefError(format string, args ...any) error {
	return &badRef{fmt.Sprintf(format, args...)}
}

// preferredQuants are tried in order when a pull names a repository but no
// quant: a good size/quality balance first.
var preferredQuants = []string{"Q4_K_M", "Q4_K_S", "Q5_K_M", "Q4_0", "Q8_0", "Q6_K", "F16", "BF16", "F32"}

// Target is a resolved pull: one file to download and the name it gets.
type Target struct {
	Name      string        `json:"name"` // library name: "qwen2.5-0.5b-instruct:Q4_K_M" or "org/repo:Q4_K_M"
	Repo      string        `json:"repo"`
	File      string        `json:"file"`
	URL       string        `json:"url"`
	Quant     string        `json:"quant,omitempty"`
	SHA256    string        `json:"sha256,omitempty"` // expected; "" when only the server will tell
	Size      int64         `json:"size"`             // 0 when unknown
	SizeExact bool          `json:"sizeExact"`
	Catalog   *CatalogModel `json:"catalog,omitempty"`
	// Projector is the vision projector downloaded with the model; nil for
	// a text-only model.
	Projector *ProjectorTarget `json:"projector,omitempty"`
}

// Resolver turns what a user typed into a Target.
type Resolver struct {
	BaseURL string // no trailing slash
	Client  *http.Client
	Catalog *Catalog
}

// quantPattern is the shape of a quant tag after upper-casing.
var quantPattern = regexp.MustCompile(`^[A-Z0-9_]{1,16}$`)

// repoPart is one half of org/repo.
var repoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

func splitRepo(repo string) (string, string, error) {
	org, name, ok := strings.Cut(repo, "/")
	if !ok || !repoPart.MatchString(org) || !repoPart.MatchString(name) || strings.Contains(name, "..") {
		return "", "", badRefError("bad repository %q (want org/name)", repo)
	}
	return org, name, nil
}

// cleanFile checks a file path inside a repository.
func cleanFile(file string) error {
	if file == "" || len(file) > 1024 || strings.HasPrefix(file, "/") || strings.ContainsAny(file, "\\\x00") {
		return badRefError("bad file name %q", file)
	}
	for _, seg := range strings.Split(file, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return badRefError("bad file name %q", file)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return badRefError("bad file name %q", file)
			}
		}
	}
	return nil
}

// FileURL is where a repository file is downloaded from:
// {base}/{repo}/resolve/main/{file}, each path segment escaped.
func (r *Resolver) FileURL(repo, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return r.BaseURL + "/" + repo + "/resolve/main/" + strings.Join(segs, "/")
}

// Resolve interprets ref:
//
//	qwen2.5-0.5b-instruct            a catalog model, its default quant
//	qwen2.5-0.5b-instruct:Q8_0       a catalog model and quant
//	org/repo                         a repository's preferred GGUF file
//	org/repo:Q5_K_M                  the repository's file with that quant
//	org/repo/dir/file.gguf           one file (also org/repo:file.gguf)
//	hf.co/org/repo:Q4_K_M            the same with a host prefix
//	https://huggingface.co/org/repo/resolve/main/file.gguf
//
// Repository lookups use the store's API ({base}/api/models/{repo}), which
// also supplies the files' sizes and SHA-256.
func (r *Resolver) Resolve(ctx context.Context, ref string) (Target, error) {
	ref = strings.TrimSpace(ref)
	for _, p := range []string{r.BaseURL + "/", "https://huggingface.co/", "http://huggingface.co/", "huggingface.co/", "https://hf.co/", "hf.co/"} {
		ref = strings.TrimPrefix(ref, p)
	}
	if !strings.Contains(ref, "/") {
		return r.resolveCatalog(ref)
	}
	repo, file, quant, err := parseRepoRef(ref)
	if err != nil {
		return Target{}, err
	}
	t := Target{Repo: repo, File: file, Quant: quant}
	cm := r.catalogByRepo(repo)
	if cm != nil {
		for _, v := range cm.Variants {
			if v.File == file || (file == "" && quant != "" && strings.EqualFold(v.Quant, quant)) {
				return r.catalogTarget(*cm, v), nil
			}
		}
	}
	files, apiErr := r.listFiles(ctx, repo)
	if file == "" {
		if apiErr != nil {
			return Target{}, fmt.Errorf("resolve %s: %w", ref, apiErr)
		}
		f, err := pickFile(files, quant)
		if err != nil {
			return Target{}, fmt.Errorf("resolve %s: %w", ref, err)
		}
		t.File = f.Name
	}
	if err := cleanFile(t.File); err != nil {
		return Target{}, err
	}
	for _, f := range files { // best effort when a file was named
		if f.Name == t.File {
			t.Size, t.SizeExact, t.SHA256 = f.Size, f.Size > 0, f.SHA256
		}
	}
	if t.Quant == "" || file != "" {
		t.Quant = library.QuantFromFileName(t.File)
	}
	t.URL = r.FileURL(repo, t.File)
	t.Name = repo + ":" + t.Quant
	if t.Quant == "" {
		t.Name = repo + ":" + library.NameFromFile(t.File)
	}
	if err := library.ValidateName(t.Name); err != nil {
		return Target{}, err
	}
	return t, nil
}

func (r *Resolver) resolveCatalog(ref string) (Target, error) {
	id, quant, _ := strings.Cut(ref, ":")
	if r.Catalog == nil {
		return Target{}, fmt.Errorf("%w: %q (no catalog)", ErrNoMatch, ref)
	}
	m, ok := r.Catalog.Find(id)
	if !ok {
		return Target{}, fmt.Errorf("%w: %q is not in the catalog (see `ir store`), and not an org/repo", ErrNoMatch, id)
	}
	if quant == "" {
		quant = m.Default
	}
	v, ok := m.Variant(quant)
	if !ok {
		var qs []string
		for _, v := range m.Variants {
			qs = append(qs, v.Quant)
		}
		return Target{}, fmt.Errorf("%w: %s has no %s (available: %s)", ErrNoMatch, m.ID, quant, strings.Join(qs, ", "))
	}
	return r.catalogTarget(m, v), nil
}

func (r *Resolver) catalogTarget(m CatalogModel, v Variant) Target {
	mc := m
	t := Target{Name: m.ID + ":" + v.Quant, Repo: m.Repo, File: v.File, URL: r.FileURL(m.Repo, v.File), Quant: v.Quant,
		SHA256: v.SHA256, Size: v.Size, SizeExact: v.SizeExact, Catalog: &mc}
	if p := m.Projector; p != nil {
		t.Projector = &ProjectorTarget{File: p.File, URL: r.FileURL(m.Repo, p.File), SHA256: p.SHA256, Size: p.Size,
			SizeExact: p.SizeExact}
	}
	return t
}

func (r *Resolver) catalogByRepo(repo string) *CatalogModel {
	if r.Catalog == nil {
		return nil
	}
	for i := range r.Catalog.Models {
		if strings.EqualFold(r.Catalog.Models[i].Repo, repo) {
			return &r.Catalog.Models[i]
		}
	}
	return nil
}

// parseRepoRef splits "org/repo[:QUANT|:file.gguf]" or "org/repo/path/file.gguf"
// (optionally with "/resolve/<rev>/" or "/blob/<rev>/" before the path).
func parseRepoRef(ref string) (repo, file, quant string, err error) {
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", "", "", badRefError("bad reference %q", ref)
	}
	last := parts[1]
	if len(parts) == 2 {
		name, tag, _ := strings.Cut(last, ":")
		repo = parts[0] + "/" + name
		if strings.HasSuffix(strings.ToLower(tag), ".gguf") {
			file = tag
		} else {
			quant = strings.ToUpper(tag)
		}
	} else {
		repo = parts[0] + "/" + parts[1]
		rest := parts[2:]
		if len(rest) >= 3 && (rest[0] == "resolve" || rest[0] == "blob") {
			rest = rest[2:]
		}
		file = strings.Join(rest, "/")
		if f, err := url.PathUnescape(file); err == nil {
			file = f
		}
	}
	if _, _, err := splitRepo(repo); err != nil {
		return "", "", "", err
	}
	if file != "" {
		if err := cleanFile(file); err != nil {
			return "", "", "", err
		}
	}
	if quant != "" && !quantPattern.MatchString(quant) {
		return "", "", "", badRefError("bad quant tag %q", quant)
	}
	return repo, file, quant, nil
}

// RepoFile is a file of a repository as the store's API lists it.
type RepoFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// apiModel is the part of Hugging Face's /api/models/{repo}?blobs=true
// answer we read.
type apiModel struct {
	Siblings []struct {
		RFilename string `json:"rfilename"`
		Size      int64  `json:"size"`
		LFS       *struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// listFiles asks the store's API for a repository's files.
func (r *Resolver) listFiles(ctx context.Context, repo string) ([]RepoFile, error) {
	u := r.BaseURL + "/api/models/" + repo + "?blobs=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "inference-runtime")
	resp, err := r.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", repo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list files of %s: %w", repo, &HTTPError{URL: u, Status: resp.StatusCode})
	}
	var m apiModel
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("list files of %s: %w", repo, err)
	}
	var out []RepoFile
	for _, s := range m.Siblings {
		f := RepoFile{Name: s.RFilename, Size: s.Size}
		if s.LFS != nil {
			f.Size = s.LFS.Size
			if d := strings.ToLower(s.LFS.SHA256); library.ValidDigest(d) {
				f.SHA256 = d
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// pickFile chooses the GGUF file for a quant tag ("" = preferred).
func pickFile(files []RepoFile, quant string) (RepoFile, error) {
	var ggufs []RepoFile
	for _, f := range files {
		base := path.Base(f.Name)
		if !strings.HasSuffix(strings.ToLower(base), ".gguf") || strings.HasPrefix(strings.ToLower(base), "mmproj") {
			continue
		}
		ggufs = append(ggufs, f)
	}
	if len(ggufs) == 0 {
		return RepoFile{}, fmt.Errorf("%w: the repository has no .gguf files", ErrNoMatch)
	}
	sort.Slice(ggufs, func(i, j int) bool {
		if len(ggufs[i].Name) != len(ggufs[j].Name) {
			return len(ggufs[i].Name) < len(ggufs[j].Name)
		}
		return ggufs[i].Name < ggufs[j].Name
	})
	match := func(q string) (RepoFile, bool, error) {
		for _, f := range ggufs {
			if library.HasTag(path.Base(f.Name), q) || (q == "F16" && library.HasTag(path.Base(f.Name), "FP16")) {
				if library.IsSplitShard(f.Name) {
					return RepoFile{}, true, fmt.Errorf("%s is split into several files, which is not supported yet", f.Name)
				}
				return f, true, nil
			}
		}
		return RepoFile{}, false, nil
	}
	if quant != "" {
		f, ok, err := match(quant)
		if err != nil {
			return RepoFile{}, err
		}
		if !ok {
			return RepoFile{}, fmt.Errorf("%w for %s (available: %s)", ErrNoMatch, quant, quantList(ggufs))
		}
		return f, nil
	}
	if len(ggufs) == 1 {
		return ggufs[0], nil
	}
	for _, q := range preferredQuants {
		if f, ok, err := match(q); ok && err == nil {
			return f, nil
		}
	}
	return RepoFile{}, fmt.Errorf("%w: several files, name one with :QUANT (available: %s)", ErrNoMatch, quantList(ggufs))
}

func quantList(files []RepoFile) string {
	seen := map[string]bool{}
	var qs []string
	for _, f := range files {
		q := library.QuantFromFileName(f.Name)
		if q == "" {
			q = path.Base(f.Name)
		}
		if !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	return strings.Join(qs, ", ")
}
