//go:build !linux && !darwin

package library

import "errors"

// AvailableMemory is not implemented on this system; the fit estimate then
// reports its numbers without a verdict.
func AvailableMemory() (int64, error) {
	return -1, errors.New("free memory is unknown on this system")
}
