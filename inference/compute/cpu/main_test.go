package cpu

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	singleThreadCost = 0 // run even tiny test graphs on every thread
	os.Exit(m.Run())
}
