package chattmpl

import (
	"fmt"
)

// rangeValue is the lazy sequence range() returns: it prints as
// range(start, stop[, step]) and slices into another range, as in Python.
type rangeValue struct{ start, stop, step int64 }

func (r rangeValue) length() int64 {
	switch {
	case r.step > 0 && r.stop > r.start:
		return (r.stop - r.start + r.step - 1) / r.step
	case r.step < 0 && r.stop < r.start:
		return (r.start - r.stop - r.step - 1) / -r.step
	}
	return 0
}

func (r rangeValue) items() []any {
	out := make([]any, r.length())
	for i := range out {
		out[i] = r.start + int64(i)*r.step
	}
	return out
}

func (r rangeValue) repr() string {
	if r.step == 1 {
		return fmt.Sprintf("range(%d, %d)", r.start, r.stop)
	}
	return fmt.Sprintf("range(%d, %d, %d)", r.start, r.stop, r.step)
}

func (r rangeValue) slice(start, stop, step any) (any, error) {
	b, e, st, err := sliceIndices(start, stop, step, int(r.length()))
	if err != nil {
		return nil, err
	}
	return rangeValue{start: r.start + int64(b)*r.step, stop: r.start + int64(e)*r.step, step: r.step * int64(st)}, nil
}

// dictView is what dict.keys(), values() and items() return: iterable and
// sized, printed as dict_keys([...]), not subscriptable, not JSON.
type dictView struct {
	kind  string // "dict_keys", "dict_values" or "dict_items"
	items []any
}

func newDictView(d *Dict, kind string) *dictView {
	var items []any
	switch kind {
	case "dict_keys":
		items = d.Keys()
	case "dict_values":
		items = d.Values()
	default:
		items = make([]any, d.Len())
		for i, k := range d.keys {
			items[i] = Tuple{k, d.vals[i]}
		}
	}
	return &dictView{kind: kind, items: items}
}
