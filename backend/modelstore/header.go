package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference/gguf"
)

// Header fetches start at headerFirst bytes and grow up to headerMax: the
// header of a model with a large vocabulary takes several MiB.
const (
	headerFirst = 4 << 20
	headerMax   = 64 << 20
)

// FetchMeta reads a remote GGUF file's header with Range requests, without
// downloading the weights, and returns its metadata and the file's size —
// enough for a fit estimate before a download.
//
// The GGUF reader validates tensors against the file's length, so the
// prefix is placed in a sparse temp file of the full length: the reader sees
// the real header and a file of the right size, and only the prefix takes
// disk space.
func FetchMeta(ctx context.Context, client *http.Client, url string) (library.Meta, int64, error) {
	if runtime.GOOS == "windows" {
		// Extending a file there may allocate its whole length.
		return library.Meta{}, 0, errors.New("header fetch is not available on this system")
	}
	var lastErr error
	for n := int64(headerFirst); n <= headerMax; n *= 4 {
		prefix, total, err := fetchPrefix(ctx, client, url, n)
		if err != nil {
			return library.Meta{}, 0, err
		}
		meta, err := parsePrefix(prefix, total)
		if err == nil {
			return meta, total, nil
		}
		lastErr = err
		if int64(len(prefix)) >= total {
			break // we had the whole file: it is simply not valid
		}
	}
	return library.Meta{}, 0, fmt.Errorf("read header of %s: %w", url, lastErr)
}

// fetchPrefix returns up to n first bytes of url and the file's full size.
func fetchPrefix(ctx context.Context, client *http.Client, url string, n int64) ([]byte, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
	req.Header.Set("User-Agent", "inference-runtime")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch header: %w", err)
	}
	defer resp.Body.Close()
	var total int64
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, t, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != 0 || t <= 0 {
			return nil, 0, fmt.Errorf("fetch header: unusable Content-Range %q", resp.Header.Get("Content-Range"))
		}
		total = t
	case http.StatusOK:
		total = resp.ContentLength // the server ignored Range: read the start only
		if total <= 0 {
			return nil, 0, errors.New("fetch header: the server gives no size")
		}
	default:
		return nil, 0, fmt.Errorf("fetch header: %w", &HTTPError{URL: url, Status: resp.StatusCode})
	}
	prefix, err := io.ReadAll(io.LimitReader(resp.Body, n))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch header: %w", err)
	}
	return prefix, total, nil
}

// parsePrefix validates the header held in prefix of a file of total bytes.
func parsePrefix(prefix []byte, total int64) (library.Meta, error) {
	if int64(len(prefix)) > total {
		return library.Meta{}, errors.New("server sent more than the file's size")
	}
	f, err := os.CreateTemp("", "ir-header-*.gguf")
	if err != nil {
		return library.Meta{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(prefix); err != nil {
		return library.Meta{}, err
	}
	if err := f.Truncate(total); err != nil {
		return library.Meta{}, err
	}
	g, err := gguf.Open(f.Name())
	if err != nil {
		return library.Meta{}, err
	}
	defer g.Close()
	return library.ReadMeta(g), nil
}
