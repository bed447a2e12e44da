package library

import (
	"errors"
	"fmt"
	"regexp"
)

// Errors callers may test for with errors.Is.
var (
	ErrNotFound    = errors.New("model not found")
	ErrNameTaken   = errors.New("name already in use")
	ErrBadName     = errors.New("invalid model name")
	ErrBadDigest   = errors.New("invalid digest")
	ErrMissing     = errors.New("model file is missing")
	ErrBusy        = errors.New("in use by another process")
	ErrNoSpace     = errors.New("not enough free disk space")
	ErrInvalidGGUF = errors.New("not a valid GGUF model")
	// ErrAmbiguous means that several models answer to an untagged name
	// or an id prefix; it matches ErrNotFound too.
	ErrAmbiguous = fmt.Errorf("%w: ambiguous name", ErrNotFound)
)

// digestPattern is the only accepted form of a digest: 64 lowercase hex
// digits. Anything else (upper case, a prefix, path characters, encodings)
// is refused before it can become part of a file name.
var digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidDigest reports whether d is a SHA-256 digest in the one accepted form.
func ValidDigest(d string) bool { return digestPattern.MatchString(d) }

// BlobName returns the file name of the blob holding the bytes with digest d,
// relative to the blobs folder: "sha256-<d>".
func BlobName(d string) (string, error) {
	if !ValidDigest(d) {
		return "", fmt.Errorf("%w: %q (want 64 lowercase hex digits)", ErrBadDigest, d)
	}
	return "sha256-" + d, nil
}

// DigestFromBlobName is the inverse of BlobName.
func DigestFromBlobName(name string) (string, error) {
	const prefix = "sha256-"
	if len(name) != len(prefix)+64 || name[:len(prefix)] != prefix {
		return "", fmt.Errorf("%w: blob name %q", ErrBadDigest, name)
	}
	d := name[len(prefix):]
	if !ValidDigest(d) {
		return "", fmt.Errorf("%w: blob name %q", ErrBadDigest, name)
	}
	return d, nil
}
