//go:build !unix

package library

import "os"

// locksWork says whether TryLock really locks; here it does not, and temp
// files are only removed once they are old.
const locksWork = false

// TryLock is a no-op where advisory locks are not available: stray temp
// files are then only removed by age.
func TryLock(f *os.File) error { return nil }

// FreeSpace reports -1 (unknown) where it is not implemented; callers skip
// the check then.
func FreeSpace(dir string) (int64, error) { return -1, nil }
