package compute

import (
	"fmt"
	"strings"

	"inferenceruntime/inference/quant"
)

// Quantized KV cache types: keys and values stored as the weight blocks of
// these types (32 elements per block), as llama.cpp's --cache-type-k/-v.
const (
	Q8_0 DType = quant.Q8_0
	Q4_0 DType = quant.Q4_0
)

// KVTypes are the names ParseKVType takes, in order of size.
var KVTypes = []string{"f32", "f16", "q8_0", "q4_0"}

// ParseKVType returns the cache type of a name of KVTypes ("" is F32),
// in either case.
func ParseKVType(name string) (DType, error) {
	switch strings.ToLower(name) {
	case "", "f32":
		return F32, nil
	case "f16":
		return F16, nil
	case "q8_0":
		return Q8_0, nil
	case "q4_0":
		return Q4_0, nil
	}
	return 0, fmt.Errorf("KV cache type %q (want one of %s)", name, strings.Join(KVTypes, ", "))
}

// CheckKVType reports whether dt can hold the keys and values of heads of
// headDim elements. A quantized type needs whole blocks per head, because
// attention reads one head's row of the cache at a time.
func CheckKVType(dt DType, headDim int) error {
	switch dt {
	case F32, F16:
		return nil
	case Q8_0, Q4_0:
		if headDim%32 != 0 {
			return fmt.Errorf("a %s KV cache needs a head size that is a multiple of 32, and this model's is %d (use f16)", strings.ToLower(dt.String()), headDim)
		}
		return nil
	}
	return fmt.Errorf("%s is not a KV cache type (%s)", dt, strings.Join(KVTypes, ", "))
}

// KVBytes is the memory of a KV cache of dt holding positions positions of
// layers layers with kvHeads heads of headDim: keys and values.
func KVBytes(dt DType, layers, kvHeads, headDim, positions int) int64 {
	row, err := dt.RowSize(int64(headDim * kvHeads))
	if err != nil {
		return 0
	}
	return 2 * int64(layers) * int64(positions) * row
}
