package compute

import (
	"fmt"
	"unsafe"
)

// ReadLeaf is the part of Backend.Read that every backend shares: it checks
// that dst takes t's values (t F32, one float per element) and returns
// dst's bytes; when t is a leaf or a view of one it reads it from its
// buffer and reports done, and the backend has only outputs of its last
// graph left to handle.
func ReadLeaf(t *Tensor, dst []float32) (out []byte, done bool, err error) {
	if t == nil {
		return nil, false, fmt.Errorf("compute: Read: nil tensor")
	}
	if t.DType() != F32 || int64(len(dst)) != t.Shape().Elements() {
		return nil, false, fmt.Errorf("compute: Read: %v into %d floats: want F32 and one float per element", t, len(dst))
	}
	out = unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
	if root, off := t.Root(); root.Op() == OpLeaf {
		buf, boff := root.Buffer()
		return out, true, buf.Read(boff+off, out)
	}
	return out, false, nil
}
