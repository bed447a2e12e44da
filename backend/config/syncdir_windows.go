package config

// syncDir is a no-op on Windows: directories cannot be opened for flushing
// there, and NTFS journals the rename itself.
func syncDir(string) error { return nil }
