package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

var weatherTool = map[string]any{"type": "function", "function": map[string]any{
	"name": "get_weather", "description": "Weather in a city",
	"parameters": map[string]any{"type": "object", "properties": map[string]any{
		"city": map[string]any{"type": "string", "maxLength": 12},
		"days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7},
	}, "required": []string{"city", "days"}},
}}

var timeTool = map[string]any{"type": "function", "function": map[string]any{
	"name": "get_time", "parameters": map[string]any{"type": "object", "properties": map[string]any{}},
}}

// checkWeatherArgs checks arguments against weatherTool's schema.
func checkWeatherArgs(t *testing.T, args string) {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		t.Fatalf("arguments %q are not JSON: %v", args, err)
	}
	city, ok := a["city"].(string)
	days, ok2 := a["days"].(float64)
	if !ok || !ok2 || len([]rune(city)) > 12 || days < 1 || days > 7 || days != float64(int(days)) || len(a) != 2 {
		t.Fatalf("arguments %s do not fit the schema", args)
	}
}

func TestStructuredOutputs(t *testing.T) {
	e := newEnv(t, envOptions{})
	schema := map[string]any{"type": "object", "properties": map[string]any{
		"name":  map[string]any{"type": "string", "maxLength": 10},
		"tags":  map[string]any{"type": "array", "items": map[string]any{"enum": []any{"a", "b"}}, "maxItems": 3},
		"when":  map[string]any{"type": "string", "format": "date"},
		"count": map[string]any{"type": "integer", "minimum": -3, "maximum": 3},
	}, "required": []string{"name", "tags", "when", "count"}, "additionalProperties": false}
	check := func(t *testing.T, text string) {
		var v map[string]any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Fatalf("%q is not a JSON object: %v", text, err)
		}
		if len(v) != 4 {
			t.Fatalf("%s: want exactly the 4 properties", text)
		}
		name, _ := v["name"].(string)
		tags, _ := v["tags"].([]any)
		when, _ := v["when"].(string)
		count, _ := v["count"].(float64)
		if len([]rune(name)) > 10 || len(tags) > 3 || len(when) != 10 || count < -3 || count > 3 {
			t.Fatalf("%s does not validate", text)
		}
		for _, tag := range tags {
			if tag != "a" && tag != "b" {
				t.Fatalf("%s: tag %v not in the enum", text, tag)
			}
		}
	}
	msgs := []map[string]any{{"role": "user", "content": "Describe an event."}}
	for seed := range 3 {
		res := e.do("POST", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs, "seed": seed, "max_tokens": 150,
			"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "event", "schema": schema, "strict": true}}})
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		msg := res.json(t)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
		check(t, msg["content"].(string))

		res = e.do("POST", "/api/chat", map[string]any{"model": "tiny", "messages": msgs, "stream": false, "format": schema,
			"options": map[string]any{"seed": seed, "num_predict": 150, "temperature": 1.5}})
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		check(t, res.json(t)["message"].(map[string]any)["content"].(string))
	}
	for _, body := range []map[string]any{
		{"model": "tiny", "messages": msgs, "response_format": map[string]any{"type": "json_object"}, "max_tokens": 60},
		{"model": "tiny", "messages": msgs, "grammar": `root ::= "{" "}" | "{\"k\": " [0-9] "}"`},
	} {
		res := e.do("POST", "/v1/chat/completions", body)
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		text := res.json(t)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
		var v map[string]any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Fatalf("%q is not a JSON object", text)
		}
	}
	res := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": "x", "stream": false, "format": "json", "options": map[string]any{"num_predict": 40}})
	var v map[string]any
	if err := json.Unmarshal([]byte(res.json(t)["response"].(string)), &v); err != nil {
		t.Fatalf("format json: %s", res.body)
	}
	res = e.do("POST", "/v1/completions", map[string]any{"model": "tiny", "prompt": "x", "grammar": `root ::= "yes" | "no"`})
	if text := res.json(t)["choices"].([]any)[0].(map[string]any)["text"]; text != "yes" && text != "no" {
		t.Fatalf("grammar yes|no gave %q", text)
	}
}

func TestToolCalls(t *testing.T) {
	e := newEnv(t, envOptions{})
	msgs := []map[string]any{{"role": "user", "content": "Weather in Paris?"}}
	for _, choice := range []any{"required", map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}}} {
		for seed := range 2 {
			body := map[string]any{"model": "tiny", "messages": msgs, "tools": []any{weatherTool, timeTool}, "tool_choice": choice,
				"seed": seed, "max_tokens": 120, "parallel_tool_calls": false}
			res := e.do("POST", "/v1/chat/completions", body)
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			ch := res.json(t)["choices"].([]any)[0].(map[string]any)
			calls, _ := ch["message"].(map[string]any)["tool_calls"].([]any)
			if ch["finish_reason"] != "tool_calls" || len(calls) != 1 {
				t.Fatalf("want one tool call: %s", res.body)
			}
			fn := calls[0].(map[string]any)["function"].(map[string]any)
			switch fn["name"] {
			case "get_weather":
				checkWeatherArgs(t, fn["arguments"].(string))
			case "get_time":
				if _, named := choice.(map[string]any); named {
					t.Fatalf("named get_weather, got get_time")
				}
			default:
				t.Fatalf("undeclared function %v", fn["name"])
			}

			// The same streamed: deltas assemble into the same kind of call.
			body["stream"] = true
			res = e.do("POST", "/v1/chat/completions", body)
			name, args, finish := "", "", ""
			for _, ev := range sse(t, res.body) {
				choices, _ := ev["choices"].([]any)
				if len(choices) == 0 {
					continue
				}
				c := choices[0].(map[string]any)
				if fr, ok := c["finish_reason"].(string); ok {
					finish = fr
				}
				d, _ := c["delta"].(map[string]any)
				for _, tc := range asSlice(d["tool_calls"]) {
					tcm := tc.(map[string]any)
					if tcm["index"] != float64(0) {
						t.Fatalf("delta without index 0: %v", tcm)
					}
					f := tcm["function"].(map[string]any)
					if n, ok := f["name"].(string); ok {
						name = n
						if tcm["id"] == nil || tcm["type"] != "function" {
							t.Fatalf("the first delta of a call needs id and type: %v", tcm)
						}
					}
					a, _ := f["arguments"].(string)
					args += a
				}
			}
			if finish != "tool_calls" || (name != "get_weather" && name != "get_time") {
				t.Fatalf("streamed: finish %q name %q\n%s", finish, name, res.body)
			}
			if name == "get_weather" {
				checkWeatherArgs(t, args)
			}
		}
	}
	// tool_choice none: plain text, no calls.
	res := e.do("POST", "/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs, "tools": []any{weatherTool},
		"tool_choice": "none", "max_tokens": 5})
	if ch := res.json(t)["choices"].([]any)[0].(map[string]any); ch["finish_reason"] == "tool_calls" {
		t.Fatalf("tool_choice none made a call: %s", res.body)
	}
	// A conversation with a call and its result renders and runs (Ollama).
	res = e.do("POST", "/api/chat", map[string]any{"model": "tiny", "stream": false, "tools": []any{weatherTool},
		"options": map[string]any{"num_predict": 5}, "messages": []any{
			map[string]any{"role": "user", "content": "Weather?"},
			map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{"function": map[string]any{"name": "get_weather", "arguments": map[string]any{"city": "Paris", "days": 1}}}}},
			map[string]any{"role": "tool", "content": "sunny", "tool_name": "get_weather"},
		}})
	if res.status != http.StatusOK {
		t.Fatalf("ollama tool round trip: %d %s", res.status, res.body)
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func TestStructuredErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	msgs := []map[string]any{{"role": "user", "content": "hi"}}
	badTool := func(fn map[string]any) []any { return []any{map[string]any{"type": "function", "function": fn}} }
	cases := []struct {
		name, path string
		body       map[string]any
		want       string
	}{
		{"grammar syntax", "/v1/chat/completions", map[string]any{"grammar": `root ::= "a`}, "grammar"},
		{"grammar undefined rule", "/api/chat", map[string]any{"grammar": `root ::= x`}, `rule "x" is used but never defined`},
		{"left recursion", "/v1/completions", map[string]any{"prompt": "x", "grammar": `root ::= root "a" | "b"`}, "left recursive"},
		{"schema keyword", "/v1/chat/completions", map[string]any{"response_format": map[string]any{"type": "json_schema",
			"json_schema": map[string]any{"name": "x", "schema": map[string]any{"type": "string", "pattern": "a+"}}}}, `"pattern"`},
		{"schema missing", "/v1/chat/completions", map[string]any{"response_format": map[string]any{"type": "json_schema"}}, "json_schema.schema"},
		{"format type", "/v1/chat/completions", map[string]any{"response_format": map[string]any{"type": "yaml"}}, "response_format.type"},
		{"ollama format", "/api/chat", map[string]any{"format": "xml"}, "format"},
		{"ollama schema keyword", "/api/generate", map[string]any{"prompt": "x", "format": map[string]any{"type": "object", "patternProperties": map[string]any{}}}, "patternProperties"},
		{"tool name", "/v1/chat/completions", map[string]any{"tools": badTool(map[string]any{"name": "get weather"})}, "tools[0].function.name"},
		{"tool without function", "/v1/chat/completions", map[string]any{"tools": []any{map[string]any{"type": "function"}}}, "tools[0].function"},
		{"tool type", "/v1/chat/completions", map[string]any{"tools": []any{map[string]any{"type": "retrieval"}}}, "tools[0].type"},
		{"tool params", "/api/chat", map[string]any{"tools": badTool(map[string]any{"name": "f", "parameters": map[string]any{"type": "object", "not": map[string]any{}}})}, `"not"`},
		{"tool params not object", "/v1/chat/completions", map[string]any{"tools": badTool(map[string]any{"name": "f", "parameters": "x"})}, "parameters"},
		{"tool duplicate", "/v1/chat/completions", map[string]any{"tools": []any{weatherTool, weatherTool}}, "declared twice"},
		{"tool_choice unknown", "/v1/chat/completions", map[string]any{"tools": []any{weatherTool}, "tool_choice": map[string]any{"type": "function", "function": map[string]any{"name": "nope"}}}, "tool_choice.function.name"},
		{"tool_choice required without tools", "/v1/chat/completions", map[string]any{"tool_choice": "required"}, "tool_choice"},
		{"tool_choice word", "/v1/chat/completions", map[string]any{"tools": []any{weatherTool}, "tool_choice": "always"}, "tool_choice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.body["model"] = "tiny"
			if c.path != "/v1/completions" && c.path != "/api/generate" {
				c.body["messages"] = msgs
			}
			res := e.do("POST", c.path, c.body)
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", res.status, res.body)
			}
			if msg := errorMessage(t, res); !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not name %q", msg, c.want)
			}
		})
	}
	// A grammar that cannot be finished in the room left ends with an
	// error, not a hang.
	res := e.do("POST", "/v1/completions", map[string]any{"model": "tiny", "prompt": "x", "max_tokens": 3,
		"grammar": `root ::= "abcdefghijklmnop"`})
	if res.status < 400 || !strings.Contains(errorMessage(t, res), "grammar cannot be satisfied") {
		t.Fatalf("unsatisfiable grammar: %d %s", res.status, res.body)
	}
}
