// Package chattmpl renders chat templates: the Jinja2 subset that the
// tokenizer.chat_template of GGUF models (and Hugging Face tokenizers) use,
// with the semantics of Jinja2 as the transformers library configures it
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop controls,
// the {% generation %} tag, tojson as Python json.dumps, raise_exception and
// strftime_now globals).
//
// Values follow Python: None is nil, bool, int64, float64, string, []any for
// lists, Tuple for tuples and *Dict for dicts. A *Dict keeps its keys in
// insertion order, which tojson and items() rely on; decode JSON with
// ParseJSON to keep the order of the source. Plain Go maps are accepted too
// (their keys are sorted, since Go maps have no order). Strings marked safe
// (|safe, |escape) behave as Jinja2's Markup with autoescape off: printed as
// they are, but escaping plain text combined with them by +, % and
// Markup's methods.
//
// Rendering is bounded: a template that recurses too deep, runs too many
// steps or writes too much output fails with an error instead of hanging.
// Every failure is an *Error naming the template line.
package chattmpl
