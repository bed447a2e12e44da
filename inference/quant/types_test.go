package quant

import "testing"

// TestTypeTable checks the block layouts against the sizes of ggml's block
// structs, written out field by field here (ggml-common.h).
func TestTypeTable(t *testing.T) {
	for _, c := range []struct {
		typ       Type
		name      string
		elements  int
		blockSize int
	}{
		{F32, "F32", 1, 4}, {F16, "F16", 1, 2}, {BF16, "BF16", 1, 2}, {F64, "F64", 1, 8},
		{I8, "I8", 1, 1}, {I16, "I16", 1, 2}, {I32, "I32", 1, 4}, {I64, "I64", 1, 8},
		{Q4_0, "Q4_0", 32, 18}, {Q4_1, "Q4_1", 32, 20}, {Q5_0, "Q5_0", 32, 22}, {Q5_1, "Q5_1", 32, 24},
		{Q8_0, "Q8_0", 32, 34}, {Q8_1, "Q8_1", 32, 36},
		{Q2_K, "Q2_K", 256, 84}, {Q3_K, "Q3_K", 256, 110}, {Q4_K, "Q4_K", 256, 144},
		{Q5_K, "Q5_K", 256, 176}, {Q6_K, "Q6_K", 256, 210}, {Q8_K, "Q8_K", 256, 292},
		{IQ2_XXS, "IQ2_XXS", 256, 66}, {IQ2_XS, "IQ2_XS", 256, 74}, {IQ2_S, "IQ2_S", 256, 82},
		{IQ3_XXS, "IQ3_XXS", 256, 98}, {IQ3_S, "IQ3_S", 256, 110}, {IQ1_S, "IQ1_S", 256, 50},
		{IQ1_M, "IQ1_M", 256, 56}, {IQ4_NL, "IQ4_NL", 32, 18}, {IQ4_XS, "IQ4_XS", 256, 136},
		{TQ1_0, "TQ1_0", 256, 54}, {TQ2_0, "TQ2_0", 256, 66}, {MXFP4, "MXFP4", 32, 17},
		{NVFP4, "NVFP4", 64, 36}, {Q1_0, "Q1_0", 128, 18}, {Q2_0, "Q2_0", 64, 18},
	} {
		if c.typ.String() != c.name || c.typ.BlockSize() != c.elements || c.typ.TypeSize() != c.blockSize {
			t.Errorf("%d: got %s %d elements in %d bytes, want %s %d in %d", uint32(c.typ),
				c.typ, c.typ.BlockSize(), c.typ.TypeSize(), c.name, c.elements, c.blockSize)
		}
		if got, ok := ParseType(c.name); !ok || got != c.typ {
			t.Errorf("ParseType(%q) = %d, %v", c.name, got, ok)
		}
	}
	for _, id := range []Type{4, 5, 31, 32, 33, 36, 37, 38, 43, 1000} {
		if id.Known() || id.BlockSize() != 0 {
			t.Errorf("type %d should be unknown", uint32(id))
		}
		if _, err := id.RowSize(32); err == nil {
			t.Errorf("RowSize of unknown type %d: no error", uint32(id))
		}
	}
	if n, err := Q4_K.RowSize(4096); err != nil || n != 16*144 {
		t.Errorf("Q4_K.RowSize(4096) = %d, %v", n, err)
	}
	if _, err := Q4_K.RowSize(100); err == nil {
		t.Error("Q4_K.RowSize(100): no error")
	}
}
