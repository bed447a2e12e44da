package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"inferenceruntime/backend/library"
	"inferenceruntime/inference/gguf"
)

// Header fetches start at headerFirst bytes and grow four-fold up to
// headerMax while the header runs on: most headers take well under 1 MiB,
// one with a 256k-token vocabulary several MiB.
const (
	headerFirst = 1 << 20
	headerMax   = 64 << 20
)

// FetchMeta reads a remote GGUF file's header with Range requests, without
// downloading the weights, and returns its metadata and the file's size —
// enough for a fit estimate before a download. Tensor offsets and sizes are
// validated against the file's size. Each growth step fetches only the
// bytes after those already held.
func FetchMeta(ctx context.Context, client *http.Client, url string) (library.Meta, int64, error) {
	var prefix []byte
	total := int64(-1)
	for n := int64(headerFirst); ; n = min(4*n, headerMax) {
		more, size, err := fetchRange(ctx, client, url, int64(len(prefix)), n)
		if err != nil {
			return library.Meta{}, 0, fmt.Errorf("read header of %s: %w", url, err)
		}
		if total >= 0 && size != total {
			return library.Meta{}, 0, fmt.Errorf("read header of %s: the file changed size (%d, then %d bytes)", url, total, size)
		}
		total, prefix = size, append(prefix, more...)
		if int64(len(prefix)) > total {
			return library.Meta{}, 0, fmt.Errorf("read header of %s: the server sent more than the file's %d bytes", url, total)
		}
		g, err := gguf.ParseHeader(prefix, total)
		if err == nil {
			return library.ReadMeta(g), total, nil
		}
		switch {
		case !errors.Is(err, gguf.ErrShortHeader):
			return library.Meta{}, 0, fmt.Errorf("read header of %s: %w", url, err)
		case n >= headerMax:
			return library.Meta{}, 0, fmt.Errorf("read header of %s: the header is larger than %d MiB: %w", url, headerMax>>20, err)
		case int64(len(prefix)) < n:
			return library.Meta{}, 0, fmt.Errorf("read header of %s: the server sent %d of %d bytes: %w", url, len(prefix), n, err)
		}
	}
}

// fetchRange returns bytes [from, to) of url (fewer when the file ends
// first) and the file's full size.
func fetchRange(ctx context.Context, client *http.Client, url string, from, to int64) ([]byte, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to-1))
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
		if !ok || start != from || t <= 0 {
			return nil, 0, fmt.Errorf("fetch header: unusable Content-Range %q for bytes from %d", resp.Header.Get("Content-Range"), from)
		}
		total = t
	case http.StatusOK:
		// The server ignored Range: skip to from and read the rest only.
		total = resp.ContentLength
		if total <= 0 {
			return nil, 0, errors.New("fetch header: the server gives no size")
		}
		if _, err := io.CopyN(io.Discard, resp.Body, from); err != nil {
			return nil, 0, fmt.Errorf("fetch header: %w", err)
		}
	default:
		return nil, 0, fmt.Errorf("fetch header: %w", &HTTPError{URL: url, Status: resp.StatusCode})
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, to-from))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch header: %w", err)
	}
	return b, total, nil
}
